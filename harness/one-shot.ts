/**
 * A container that is expected to exit (bad configuration, refused data): runs it to the end
 * and reports its exit code, its output, and what it left in given paths, so tests can prove
 * that an error touched nothing. Works with the docker and podman CLIs alike.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { getContainerRuntimeClient } from "testcontainers";
import { $ } from "zx";
import { containerEngine } from "./engine.js";
import { digestDirectory, digestTar, type TreeDigest } from "./tar-digest.js";

export interface OneShotResult {
  exitCode: number;
  output: string;
  /** Entries under each path given to withListing() after the exit, relative to it ("" is the path itself). */
  listings: Record<string, string[]>;
  /** The container's stdout and stderr apart (output has both), without the engine CLI's own log lines. */
  stdout: string;
  stderr: string;
  /** Content digests under each path given to withDigest() after the exit; null when the path does not exist. */
  digests: Record<string, TreeDigest | null>;
  /**
   * With withLayerWrites(): what the container itself added, changed or deleted anywhere in its
   * own filesystem (`diff` after the exit less `diff` before the start, so the files given to
   * withFile() do not count), e.g. ["A /etc/pgbackrest/pgbackrest.conf"]. Volumes are not in it.
   */
  layerWrites?: string[];
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
  private networkAliases: string[] = [];
  private listed: string[] = [];
  private digested: string[] = [];
  private volumes: Array<[string, string, string]> = [];
  private user?: string;
  private tmpfs: string[] = [];
  private entrypoint?: string;
  private layerWrites = false;

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

  /** A name other containers on the network reach this one by (with withNetwork). */
  withNetworkAlias(alias: string): this {
    this.networkAliases.push(alias);
    return this;
  }

  /** Mounts a named volume (created on first use); `readOnly` mounts it `:ro`. */
  withVolume(name: string, target: string, options: { readOnly?: boolean } = {}): this {
    this.volumes.push([name, target, options.readOnly ? ":ro" : ""]);
    return this;
  }

  /** Mounts a tmpfs of `size` (e.g. "1m") at `target`: a small disk to fill up. */
  withTmpfs(target: string, size: string): this {
    this.tmpfs.push(`${target}:size=${size}`);
    return this;
  }

  /** Runs this program instead of the image's entrypoint (as a Kubernetes `command:` does). */
  withEntrypoint(program: string): this {
    this.entrypoint = program;
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

  /** After the exit, digest every file under this path (type, mode, owner, size, sha256): proves no byte changed. */
  withDigest(path: string): this {
    this.digested.push(path);
    return this;
  }

  /**
   * Records what the container writes outside its volumes: one `diff` before and one after,
   * cheaper than copying each directory out and covering the whole filesystem.
   */
  withLayerWrites(): this {
    this.layerWrites = true;
    return this;
  }

  /**
   * Where `path` is on this machine when a named volume holds it and the engine keeps its
   * volumes here (the harness's own Podman or dockerd); undefined otherwise (a remote engine).
   */
  private async hostPathOf(path: string): Promise<string | undefined> {
    // The deepest volume holding the path (a PGDATA volume inside a /var/lib/postgresql one).
    const mount = this.volumes.filter(([, target]) => path === target || path.startsWith(`${target}/`)).sort((a, b) => b[1].length - a[1].length)[0];
    if (!mount) return undefined;
    const mountpoint = await (await engineApi())
      .getVolume(mount[0])
      .inspect()
      .then(
        (v) => v.Mountpoint,
        () => undefined,
      );
    if (!mountpoint || !existsSync(mountpoint)) return undefined;
    return join(mountpoint, path.slice(mount[1].length));
  }

  /**
   * Creates the container with its files in place, not started. Through the engine's API: a
   * CLI process per step cost these 2-core machines about a second of CPU per one-shot.
   */
  private async create(): Promise<EngineContainer> {
    const { cli } = await containerEngine();
    const container = await (await engineApi()).createContainer({
      Image: this.image,
      // An entrypoint of its own drops the image's command too, as `--entrypoint` does.
      Entrypoint: this.entrypoint ? [this.entrypoint] : undefined,
      Cmd: this.command.length || this.entrypoint ? this.command : undefined,
      Env: Object.entries(this.env).map(([k, v]) => `${k}=${v}`),
      User: this.user,
      Labels: { "org.testcontainers": "true" },
      // No health check: nothing waits for a one-shot to be healthy, and each check is an exec.
      Healthcheck: { Test: ["NONE"] },
      HostConfig: {
        Binds: this.volumes.map(([name, target, mode]) => `${name}:${target}${mode}`),
        Tmpfs: Object.fromEntries(this.tmpfs.map((t) => [t.slice(0, t.indexOf(":")), t.slice(t.indexOf(":") + 1)])),
        NetworkMode: this.network,
      },
      // Aliases only: an endpoint config is refused for another container's network namespace.
      NetworkingConfig: this.network && this.networkAliases.length ? { EndpointsConfig: { [this.network]: { Aliases: this.networkAliases } } } : undefined,
    });
    const id = container.id;
    if (this.files.length) {
      const staging = mkdtempSync(join(tmpdir(), "one-shot-"));
      try {
        for (const f of this.files) {
          mkdirSync(join(staging, dirname(f.path)), { recursive: true });
          writeFileSync(join(staging, f.path), f.content, { mode: f.mode });
        }
        // Top-level entries only: archiving "." would carry the 0700 temp directory's mode onto "/".
        await $({ quiet: true })`tar -C ${staging} -c ${readdirSync(staging)} | ${cli} cp - ${`${id}:/`}`;
      } catch (e) {
        // Not handed to the caller, so removed here.
        await container.remove({ force: true, v: true }).catch(() => undefined);
        throw e;
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    }
    return container;
  }

  /** Starts it in the background, for tests that interrupt it (kill it mid-way). */
  async startDetached(): Promise<DetachedContainer> {
    const { cli } = await containerEngine();
    const container = await this.create();
    await container.start();
    return new DetachedContainer(cli, container.id);
  }

  async run(timeoutMs = 120_000): Promise<OneShotResult> {
    const { cli } = await containerEngine();
    const sh = $({ quiet: true, nothrow: true });
    const container = await this.create();
    const id = container.id;
    // What `diff` prints: "A /etc/pgbackrest/pgbackrest.conf" (the API numbers the kinds).
    const layerDiff = async () => ((await container.changes()) ?? []).map((c) => `${"CAD"[c.Kind]} ${c.Path}`);
    try {
      const layerBefore = this.layerWrites ? new Set(await layerDiff()) : undefined;
      await container.start();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([container.wait(), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]).finally(() => clearTimeout(timer));
      const { output, stdout, stderr } = await containerLogs(id);
      const { State } = await container.inspect();
      // A container still running after the timeout has not exited 0: it hangs, and says so.
      if (State.Status !== "exited")
        throw new Error(`one-shot container did not exit within ${timeoutMs} ms (state ${State.Status}); its output so far:\n${output.slice(-3000)}`);
      const exitCode = State.ExitCode;
      const listings: Record<string, string[]> = {};
      for (const path of this.listed) {
        const tar = await sh`${cli} cp ${`${id}:${path}`} - | tar -t`;
        listings[path] = tar.stdout
          .split("\n")
          .filter(Boolean)
          .map((name) => relativeEntry(name, basename(path)))
          .sort();
      }
      const digests: Record<string, TreeDigest | null> = {};
      for (const path of this.digested) {
        const onHost = await this.hostPathOf(path);
        const fromHost = onHost ? digestDirectoryIfReadable(onHost) : undefined;
        digests[path] = fromHost !== undefined ? fromHost : await digestPath(cli, id, path);
      }
      const layerWrites = layerBefore && (await layerDiff()).filter((line) => !layerBefore.has(line));
      return { exitCode, output, listings, stdout, stderr, digests, layerWrites };
    } finally {
      await container.remove({ force: true, v: true }).catch(() => undefined);
    }
  }
}

/** What the harness asks of the engine's API beyond testcontainers' own client (dockerode's calls). */
interface EngineContainer {
  id: string;
  start(): Promise<unknown>;
  wait(): Promise<unknown>;
  inspect(): Promise<{ State: { Status: string; ExitCode: number } }>;
  changes(): Promise<Array<{ Path: string; Kind: number }> | null>;
  remove(options: { force: boolean; v: boolean }): Promise<unknown>;
}
interface EngineApi {
  createContainer(options: Record<string, unknown>): Promise<EngineContainer>;
  getVolume(name: string): { inspect(): Promise<{ Mountpoint: string }> };
}

/** The dockerode instance testcontainers talks to the engine through. */
async function engineApi(): Promise<EngineApi> {
  return ((await getContainerRuntimeClient()).container as unknown as { dockerode: EngineApi }).dockerode;
}

/**
 * Everything a container printed (stdout and stderr, across restarts): both in the order they
 * were written, and each apart. Read through the engine's API, not a CLI process per call (tests
 * poll logs twice a second; a `podman logs` process costs about 0.1 s of CPU each time). Throws
 * when the engine cannot say: an empty log would let "the secret is not in the log" pass.
 */
export async function containerLogs(id: string): Promise<{ output: string; stdout: string; stderr: string }> {
  const client = await getContainerRuntimeClient();
  // follow: false answers with the whole log at once: frames of an 8-byte header (stream 1 or 2,
  // then the length) and the bytes (the containers here have no TTY, so it is always framed).
  const raw = (await client.container.getById(id).logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  const all: Buffer[] = [];
  const streams: Record<number, Buffer[]> = { 1: [], 2: [] };
  for (let offset = 0; offset + 8 <= raw.length; ) {
    const length = raw.readUInt32BE(offset + 4);
    const frame = raw.subarray(offset + 8, offset + 8 + length);
    all.push(frame);
    streams[raw[offset]]?.push(frame);
    offset += 8 + length;
  }
  return {
    output: Buffer.concat(all).toString("utf8"),
    stdout: Buffer.concat(streams[1]).toString("utf8"),
    stderr: Buffer.concat(streams[2]).toString("utf8"),
  };
}

/** Everything a container printed, stdout and stderr in the order they were written. */
export async function containerLogText(id: string): Promise<string> {
  return (await containerLogs(id)).output;
}

export class DetachedContainer {
  constructor(
    private readonly cli: string,
    readonly id: string,
  ) {}

  async exec(command: string[]): Promise<{ exitCode: number; output: string }> {
    const r = await $({ quiet: true, nothrow: true })`${this.cli} exec ${this.id} ${command}`;
    return { exitCode: r.exitCode ?? 1, output: r.stdout + r.stderr };
  }

  /** Everything it printed so far. */
  logText(): Promise<string> {
    return containerLogText(this.id);
  }

  /** SIGKILL, as when the host loses power or the orchestrator gives up: no cleanup runs. */
  async kill(): Promise<void> {
    await $({ quiet: true, nothrow: true })`${this.cli} kill ${this.id}`;
  }

  /** Its stop signal, then SIGKILL after `timeoutSeconds`; the container and its volumes stay. */
  async stop(timeoutSeconds = 10): Promise<void> {
    await $({ quiet: true })`${this.cli} stop --time ${timeoutSeconds} ${this.id}`;
  }

  /** Starts it again after stop() or kill(), with the same volumes and network aliases. */
  async start(): Promise<void> {
    await $({ quiet: true })`${this.cli} start ${this.id}`;
  }

  async remove(): Promise<void> {
    await $({ quiet: true, nothrow: true })`${this.cli} rm -f ${this.id}`;
  }
}

/**
 * Puts files into a named volume (created on first use), owned by `owner` inside `image` (its
 * postgres user by default, whatever its uid): e.g. certificates to mount read-only later.
 * Paths are relative to the volume's root; directories are created as needed.
 */
export async function fillVolume(
  image: string,
  volume: string,
  files: Array<{ path: string; content: string; mode?: number }>,
  owner = "postgres:postgres",
): Promise<void> {
  const { cli } = await containerEngine();
  const staging = mkdtempSync(join(tmpdir(), "fill-volume-"));
  try {
    for (const f of files) {
      mkdirSync(join(staging, dirname(f.path)), { recursive: true });
      writeFileSync(join(staging, f.path), f.content, { mode: f.mode ?? 0o644 });
    }
    // Top-level entries only: archiving "." would carry the 0700 temp directory's mode onto the volume's root.
    await $({
      quiet: true,
    })`tar -C ${staging} -c ${readdirSync(staging)} | ${cli} run --rm -i --user 0 --entrypoint sh -v ${`${volume}:/fill`} ${image} -c ${`tar -x -C /fill && chown -R ${owner} /fill`}`;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The host directory's digest, or undefined when this process may not read all of it (not root). */
function digestDirectoryIfReadable(dir: string): TreeDigest | null | undefined {
  try {
    return digestDirectory(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EACCES") return undefined;
    throw e;
  }
}

/** Digests of what `path` holds in a (stopped) container, or null when it does not exist there. */
export function digestPath(cli: string, id: string, path: string): Promise<TreeDigest | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, ["cp", `${id}:${path}`, "-"], { stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => (stderr += String(c)));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(digestTar(Buffer.concat(chunks)));
      else if (/no such file or directory|could not find/i.test(stderr)) resolve(null);
      else reject(new Error(`${cli} cp ${id}:${path} exited ${code}: ${stderr.slice(-500)}`));
    });
  });
}

/** Engines name the archived directory "/" or by its base name: both become "" (and "a/b" stays). */
function relativeEntry(name: string, base: string): string {
  const trimmed = name.replace(/^\/+/, "").replace(/\/+$/, "");
  if (trimmed === base) return "";
  return trimmed.startsWith(`${base}/`) ? trimmed.slice(base.length + 1) : trimmed;
}
