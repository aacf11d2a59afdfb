/**
 * A container that is expected to exit (bad configuration, refused data): runs it to the end
 * and reports its exit code, its output, and what it left in given paths, so tests can prove
 * that an error touched nothing. Works with the docker and podman CLIs alike.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { $ } from "zx";
import { containerEngine } from "./engine.js";

export interface OneShotResult {
  exitCode: number;
  output: string;
  /** Entries under each path given to withListing() after the exit, relative to it ("" is the path itself). */
  listings: Record<string, string[]>;
}

interface FileSpec {
  path: string;
  content: string;
  mode: number;
}

export class OneShotContainer {
  private env: Record<string, string> = {};
  private files: FileSpec[] = [];
  private command: string[] = [];
  private network?: string;
  private listed: string[] = [];
  private volumes: Array<[string, string]> = [];
  private user?: string;

  constructor(private readonly image: string) {}

  withEnvironment(env: Record<string, string>): this {
    this.env = { ...this.env, ...env };
    return this;
  }

  withFile(path: string, content: string, mode = 0o644): this {
    this.files.push({ path, content, mode });
    return this;
  }

  withCommand(command: string[]): this {
    this.command = command;
    return this;
  }

  withNetwork(name: string): this {
    this.network = name;
    return this;
  }

  /** Mounts a named volume (created on first use). */
  withVolume(name: string, target: string): this {
    this.volumes.push([name, target]);
    return this;
  }

  withUser(user: string): this {
    this.user = user;
    return this;
  }

  /** After the exit, list what exists under this path (to prove nothing was written there). */
  withListing(path: string): this {
    this.listed.push(path);
    return this;
  }

  /** Creates the container with its files in place, not started. */
  private async create(): Promise<string> {
    const { cli } = await containerEngine();
    const sh = $({ quiet: true, nothrow: true });
    const envArgs = Object.entries(this.env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    const net = this.network ? ["--network", this.network] : [];
    const vols = this.volumes.flatMap(([name, target]) => ["-v", `${name}:${target}`]);
    const user = this.user ? ["--user", this.user] : [];
    const created = await sh`${cli} create --label org.testcontainers=true ${net} ${vols} ${user} ${envArgs} ${this.image} ${this.command}`;
    if (created.exitCode !== 0) throw new Error(`${cli} create failed: ${created.stderr}`);
    const id = created.stdout.trim().split("\n").pop()!;
    if (this.files.length) {
      const staging = mkdtempSync(join(tmpdir(), "one-shot-"));
      try {
        for (const f of this.files) {
          mkdirSync(join(staging, dirname(f.path)), { recursive: true });
          writeFileSync(join(staging, f.path), f.content, { mode: f.mode });
        }
        // Top-level entries only: archiving "." would carry the 0700 temp directory's mode onto "/".
        await $({ quiet: true })`tar -C ${staging} -c ${readdirSync(staging)} | ${cli} cp - ${`${id}:/`}`;
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    }
    return id;
  }

  /** Starts it in the background, for tests that interrupt it (kill it mid-way). */
  async startDetached(): Promise<DetachedContainer> {
    const { cli } = await containerEngine();
    const id = await this.create();
    await $({ quiet: true })`${cli} start ${id}`;
    return new DetachedContainer(cli, id);
  }

  async run(timeoutMs = 120_000): Promise<OneShotResult> {
    const { cli } = await containerEngine();
    const sh = $({ quiet: true, nothrow: true });
    const id = await this.create();
    try {
      await sh`${cli} start -a ${id}`.timeout(timeoutMs);
      // The container's own output only (the CLI may add its own warnings on stderr).
      const output = (await sh`${cli} logs ${id} 2>&1`).stdout;
      const exitCode = Number((await sh`${cli} inspect --format {{.State.ExitCode}} ${id}`).stdout.trim());
      const listings: Record<string, string[]> = {};
      for (const path of this.listed) {
        const tar = await sh`${cli} cp ${`${id}:${path}`} - | tar -t`;
        listings[path] = tar.stdout.split("\n").filter(Boolean).map((name) => relativeEntry(name, basename(path))).sort();
      }
      return { exitCode, output, listings };
    } finally {
      await sh`${cli} rm -f -v ${id}`;
    }
  }
}

export class DetachedContainer {
  constructor(private readonly cli: string, readonly id: string) {}

  async exec(command: string[]): Promise<{ exitCode: number; output: string }> {
    const r = await $({ quiet: true, nothrow: true })`${this.cli} exec ${this.id} ${command}`;
    return { exitCode: r.exitCode ?? 1, output: r.stdout + r.stderr };
  }

  /** SIGKILL, as when the host loses power or the orchestrator gives up: no cleanup runs. */
  async kill(): Promise<void> {
    await $({ quiet: true, nothrow: true })`${this.cli} kill ${this.id}`;
  }

  async remove(): Promise<void> {
    await $({ quiet: true, nothrow: true })`${this.cli} rm -f ${this.id}`;
  }
}

/** Engines name the archived directory "/" or by its base name: both become "" (and "a/b" stays). */
function relativeEntry(name: string, base: string): string {
  const trimmed = name.replace(/^\/+/, "").replace(/\/+$/, "");
  if (trimmed === base) return "";
  return trimmed.startsWith(`${base}/`) ? trimmed.slice(base.length + 1) : trimmed;
}
