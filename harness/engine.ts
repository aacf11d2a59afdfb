/**
 * Container engine: finds a Docker-compatible API, or provisions rootful Podman serving one.
 *
 * Order: DOCKER_HOST, the usual Docker sockets, the project's own Podman socket, then (Debian and
 * root only) install Podman from Debian's archive and start its API service. A second call on a
 * provisioned machine only pings the socket. Everywhere else it fails at once with one line that
 * says what to install.
 *
 * POSTGRES_BA_ENGINE=docker asks for Docker Engine instead: the project's own dockerd on
 * .run/docker.sock (Debian's docker.io installed and started by hand where none runs, with its
 * own data root and --iptables=false, so Podman's rules stay untouched).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { $ } from "zx";
import { projectRoot } from "./paths.js";

export interface ContainerEngine {
  /** "podman" when the API is served by Podman (which lacks a reaper and a systemd health check timer). */
  kind: "docker" | "podman";
  /** Value for DOCKER_HOST, e.g. unix:///path/podman.sock. */
  dockerHost: string;
  /** The CLI that talks to the same engine, for builds and fault injection. */
  cli: "docker" | "podman";
}

const runDir = join(projectRoot, ".run");
const podmanSocket = join(runDir, "podman.sock");
export const podmanConf = join(projectRoot, "harness", "podman", "containers.conf");
export const dockerSocket = join(runDir, "docker.sock");
/** The Podman API service this project started, for cleanup to stop. */
export const podmanPidFile = join(runDir, "podman-service.pid");
/** Docker's own roots, apart from any Docker the machine may have. */
export const dockerDataRoot = "/var/lib/postgres-ba-docker";
const dockerExecRoot = "/run/postgres-ba-docker";
export const dockerPidFile = join(runDir, "docker.pid");
const podmanPackages = ["podman", "runc", "netavark", "aardvark-dns", "fuse-overlayfs", "uidmap", "slirp4netns", "iptables", "catatonit", "debootstrap"];

let cached: Promise<ContainerEngine> | undefined;

/** Idempotent: resolves the engine once per process and exports what testcontainers reads. */
export function containerEngine(): Promise<ContainerEngine> {
  cached ??= findOrProvision().then((engine) => {
    exportEngineEnv(engine);
    if (engine.kind === "podman" && !existsSync("/run/systemd/system")) startHealthCheckTicker(engine.dockerHost);
    return engine;
  });
  return cached;
}

/** Set by the process that runs the health check ticker; its children (vitest workers) inherit it. */
const tickerOwnerVariable = "POSTGRES_BA_HEALTH_TICKER_PID";

/**
 * Podman runs health checks from systemd timers; without systemd (these VMs) they never run,
 * and anything waiting for "healthy" (PostgreSqlContainer does) waits forever. This stands in
 * for the timer: containers still "starting" get their health check run every half second for
 * their first 10 s, then every 2 s, through the API socket (a `podman` CLI process per check
 * cost these 2-core machines about a third of their CPU; each check is still an exec, about
 * 0.3 s of CPU with runc, conmon and podman's cleanup, and a restore or a clone stays "starting"
 * for tens of seconds). One ticker per process tree: vitest workers leave it to the process that
 * ran the global setup. It never keeps a process alive.
 */
function startHealthCheckTicker(dockerHost: string): void {
  const owner = Number(process.env[tickerOwnerVariable]);
  if (owner && owner !== process.pid && processAlive(owner)) return;
  process.env[tickerOwnerVariable] = String(process.pid);
  const socketPath = dockerHost.slice("unix://".length);
  const starting = `/v4.0.0/libpod/containers/json?filters=${encodeURIComponent(JSON.stringify({ health: ["starting"] }))}`;
  /** Per container: when the ticker first saw it starting, and when it last ran its check. */
  const seen = new Map<string, { first: number; last: number }>();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      const now = Date.now();
      const containers = JSON.parse((await apiGet(socketPath, starting)) || "[]") as Array<{ Id: string }>;
      for (const id of seen.keys()) if (!containers.some((c) => c.Id === id)) seen.delete(id);
      const due = containers.filter((c) => {
        const times = seen.get(c.Id) ?? { first: now, last: 0 };
        seen.set(c.Id, times);
        if (now - times.first > 10_000 && now - times.last < 2000) return false;
        times.last = now;
        return true;
      });
      await Promise.all(due.map((c) => apiGet(socketPath, `/v4.0.0/libpod/containers/${c.Id}/healthcheck`)));
    })()
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, 500);
  timer.unref();
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** GET on the engine's unix socket: the body, or "" on any error (the next tick tries again). */
function apiGet(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, timeout: 30_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve(res.statusCode === 200 ? body : ""));
      res.on("error", () => resolve(""));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(""));
    req.end();
  });
}

async function findOrProvision(): Promise<ContainerEngine> {
  const wanted = process.env.POSTGRES_BA_ENGINE;
  if (wanted && wanted !== "docker" && wanted !== "podman") throw new Error(`POSTGRES_BA_ENGINE=${wanted}: use docker or podman`);
  if (wanted === "docker") return provisionDocker();
  const candidates = [process.env.DOCKER_HOST, "unix:///var/run/docker.sock", `unix://${podmanSocket}`, "unix:///run/podman/podman.sock"].filter(
    (h): h is string => Boolean(h),
  );
  for (const host of candidates) {
    const kind = await ping(host);
    if (kind) return { kind, dockerHost: host, cli: kind === "podman" && (await hasCommand("podman")) ? "podman" : "docker" };
  }
  if (!(await hasCommand("podman"))) await installPodman();
  await startPodmanService();
  return { kind: "podman", dockerHost: `unix://${podmanSocket}`, cli: "podman" };
}

/** The project's own dockerd: reused when it answers, otherwise installed (Debian, root) and started. */
async function provisionDocker(): Promise<ContainerEngine> {
  const engine: ContainerEngine = { kind: "docker", dockerHost: `unix://${dockerSocket}`, cli: "docker" };
  if ((await ping(engine.dockerHost)) === "docker") return engine;
  if (!existsSync("/usr/sbin/dockerd")) await aptInstall("Docker Engine", ["docker.io"]);
  mkdirSync(runDir, { recursive: true });
  const logFile = join(runDir, "dockerd.log");
  const log = openSync(logFile, "a");
  const child = spawn(
    "/usr/sbin/dockerd",
    ["--host", engine.dockerHost, "--data-root", dockerDataRoot, "--exec-root", dockerExecRoot, "--pidfile", dockerPidFile, "--iptables=false"],
    { detached: true, stdio: ["ignore", log, log] },
  );
  child.unref();
  await waitForSocket(engine.dockerHost, logFile, 60_000);
  console.log(`[engine] Docker Engine (dockerd pid ${child.pid}) on ${dockerSocket}`);
  return engine;
}

/**
 * `<cli> build` and its flags for this engine. Podman: `--format docker` keeps HEALTHCHECK and
 * STOPSIGNAL (its OCI default drops them). Docker: Debian's own 20.10 client with BuildKit (a
 * newer client without buildx refuses `COPY --chmod` in its legacy builder), and the host's
 * network for RUN steps (no NAT without iptables rules).
 */
export async function buildCommand(): Promise<{ command: string; flags: string[]; env: NodeJS.ProcessEnv }> {
  const engine = await containerEngine();
  if (engine.cli === "podman") return { command: "podman", flags: ["build", "--format", "docker"], env: process.env };
  const client = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
  return { command: client, flags: ["build", ...(isOwnDockerd(engine) ? ["--network", "host"] : [])], env: { ...process.env, DOCKER_BUILDKIT: "1" } };
}

/** The dockerd this project started (not a Docker the machine runs anyway). */
function isOwnDockerd(engine: ContainerEngine): boolean {
  return engine.dockerHost === `unix://${dockerSocket}`;
}

/** testcontainers reads these on first use; the CLI reads CONTAINERS_CONF. */
function exportEngineEnv(engine: ContainerEngine): void {
  process.env.DOCKER_HOST = engine.dockerHost;
  if (engine.kind === "podman") process.env.CONTAINERS_CONF ??= podmanConf;
  if (engine.kind === "podman" || isOwnDockerd(engine)) {
    // No reaper image can be pulled: fixtures remove what they create themselves.
    process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
    // These VMs carry /.dockerenv, which makes testcontainers look for a gateway instead of localhost.
    process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "localhost";
  }
}

/** GET /_ping on a unix socket; resolves the engine kind, or undefined when nothing answers. */
function ping(dockerHost: string): Promise<ContainerEngine["kind"] | undefined> {
  if (!dockerHost.startsWith("unix://")) return Promise.resolve(undefined);
  const socketPath = dockerHost.slice("unix://".length);
  if (!existsSync(socketPath)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: 1500 }, (res) => {
      res.resume();
      const server = String(res.headers.server ?? "") + String(res.headers["libpod-api-version"] ?? "");
      resolve(res.statusCode === 200 ? (/libpod|podman/i.test(server) || res.headers["libpod-api-version"] ? "podman" : "docker") : undefined);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

export async function hasCommand(name: string): Promise<boolean> {
  return (await $({ nothrow: true, quiet: true })`command -v ${name}`).exitCode === 0;
}

async function installPodman(): Promise<void> {
  await aptInstall(
    "rootful Podman",
    podmanPackages,
    "No container engine: set DOCKER_HOST to a Docker-compatible API, or install Docker or Podman (on Debian as root this project installs rootful Podman itself).",
  );
}

/** Installs Debian packages; anywhere but Debian as root, throws `refusal` instead. */
export async function aptInstall(
  what: string,
  packages: string[],
  refusal = `${what} is not installed, and only Debian as root installs it by itself: install ${packages.join(" ")}`,
): Promise<void> {
  if (!existsSync("/etc/debian_version") || process.getuid?.() !== 0) throw new Error(refusal);
  console.log(`[engine] installing ${what} from Debian's archive: ${packages.join(" ")}`);
  await $({ quiet: true })`apt-get update -qq`;
  await $({ quiet: true, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } })`apt-get install -y -qq --no-install-recommends ${packages}`;
}

/** Starts `podman system service` detached, logging to .run/, and waits for the socket to answer. */
async function startPodmanService(): Promise<void> {
  mkdirSync(runDir, { recursive: true });
  const log = openSync(join(runDir, "podman-service.log"), "a");
  const child = spawn("podman", ["system", "service", "--time=0", `unix://${podmanSocket}`], {
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? podmanConf },
  });
  child.unref();
  writeFileSync(podmanPidFile, String(child.pid));
  await waitForSocket(`unix://${podmanSocket}`, join(runDir, "podman-service.log"), 30_000);
}

/** Waits until the API on `dockerHost` answers; throws with the end of the daemon's log. */
async function waitForSocket(dockerHost: string, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ping(dockerHost)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no API answered on ${dockerHost} within ${timeoutMs / 1000} s; see ${logFile}: ${readFileSync(logFile, "utf8").slice(-500)}`);
}

/**
 * Fixes the Linux bridge of a Podman network at the hardware address it has now. A bridge whose
 * address was never set takes the lowest of its ports' addresses, so it changes whenever a
 * container joins or leaves (netavark 1.4 does not set one); every other member keeps the old
 * address for the gateway in its ARP cache until that entry expires, and its packets to the
 * gateway, DNS queries to aardvark-dns among them, are dropped meanwhile: 35-55 s here, measured as
 * lookups that hung after the S3 server was disconnected (`ip link` showed the bridge's address
 * change with it). Newer netavark sets a fixed address itself. Rootful Podman on this host only;
 * elsewhere a no-op.
 */
export async function pinBridgeAddress(network: string): Promise<void> {
  const { kind, cli } = await containerEngine();
  if (kind !== "podman" || cli !== "podman" || process.getuid?.() !== 0) return;
  const sh = $({ quiet: true, nothrow: true });
  const bridge = (await sh`podman network inspect ${network} --format ${"{{.NetworkInterface}}"}`).stdout.trim();
  const addressFile = `/sys/class/net/${bridge}/address`;
  if (!bridge || !existsSync(addressFile)) return;
  const pinned = await sh`ip link set dev ${bridge} address ${readFileSync(addressFile, "utf8").trim()}`;
  // Not fatal (the S3 fixture's DNS wait still holds), but a run's log says the fix is off.
  if (pinned.exitCode !== 0) console.log(`[testbed] could not fix ${bridge}'s hardware address: ${pinned.stderr.trim()}`);
}
