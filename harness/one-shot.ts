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

  /** After the exit, list what exists under this path (to prove nothing was written there). */
  withListing(path: string): this {
    this.listed.push(path);
    return this;
  }

  async run(timeoutMs = 120_000): Promise<OneShotResult> {
    const { cli } = await containerEngine();
    const sh = $({ quiet: true, nothrow: true });
    const envArgs = Object.entries(this.env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    const net = this.network ? ["--network", this.network] : [];
    const created = await sh`${cli} create --label org.testcontainers=true ${net} ${envArgs} ${this.image} ${this.command}`;
    if (created.exitCode !== 0) throw new Error(`${cli} create failed: ${created.stderr}`);
    const id = created.stdout.trim().split("\n").pop()!;
    const staging = mkdtempSync(join(tmpdir(), "one-shot-"));
    try {
      if (this.files.length) {
        for (const f of this.files) {
          mkdirSync(join(staging, dirname(f.path)), { recursive: true });
          writeFileSync(join(staging, f.path), f.content, { mode: f.mode });
        }
        // Top-level entries only: archiving "." would carry the 0700 temp directory's mode onto "/".
        await $({ quiet: true })`tar -C ${staging} -c ${readdirSync(staging)} | ${cli} cp - ${`${id}:/`}`;
      }
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
      rmSync(staging, { recursive: true, force: true });
      await sh`${cli} rm -f -v ${id}`;
    }
  }
}

/** Engines name the archived directory "/" or by its base name: both become "" (and "a/b" stays). */
function relativeEntry(name: string, base: string): string {
  const trimmed = name.replace(/^\/+/, "").replace(/\/+$/, "");
  if (trimmed === base) return "";
  return trimmed.startsWith(`${base}/`) ? trimmed.slice(base.length + 1) : trimmed;
}
