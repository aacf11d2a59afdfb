/**
 * Container engine: finds a Docker-compatible API, or provisions rootful Podman serving one.
 *
 * Order: DOCKER_HOST, the usual Docker sockets, the project's own Podman socket, then (Debian and
 * root only) install Podman from Debian's archive and start its API service. A second call on a
 * provisioned machine only pings the socket. Everywhere else it fails at once with one line that
 * says what to install.
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
const podmanConf = join(projectRoot, "harness", "podman", "containers.conf");
const podmanPackages = ["podman", "runc", "netavark", "aardvark-dns", "fuse-overlayfs", "uidmap", "slirp4netns", "iptables", "catatonit", "debootstrap"];

let cached: Promise<ContainerEngine> | undefined;

/** Idempotent: resolves the engine once per process and exports what testcontainers reads. */
export function containerEngine(): Promise<ContainerEngine> {
  cached ??= findOrProvision().then((engine) => {
    exportEngineEnv(engine);
    if (engine.cli === "podman" && !existsSync("/run/systemd/system")) startHealthCheckTicker();
    return engine;
  });
  return cached;
}

/**
 * Podman runs health checks from systemd timers; without systemd (these VMs) they never run,
 * and anything waiting for "healthy" (PostgreSqlContainer does) waits forever. This stands in
 * for the timer: containers still "starting" get `podman healthcheck run` every half second.
 * It runs only while this process lives and never keeps it alive.
 */
function startHealthCheckTicker(): void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      const ids = (await $({ nothrow: true, quiet: true })`podman ps --filter health=starting --format {{.ID}}`).stdout.split("\n").filter(Boolean);
      await Promise.all(ids.map((id) => $({ nothrow: true, quiet: true })`podman healthcheck run ${id}`));
    })().finally(() => (busy = false));
  }, 500);
  timer.unref();
}

async function findOrProvision(): Promise<ContainerEngine> {
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

/** testcontainers reads these on first use; the CLI reads CONTAINERS_CONF. */
function exportEngineEnv(engine: ContainerEngine): void {
  process.env.DOCKER_HOST = engine.dockerHost;
  if (engine.kind === "podman") {
    process.env.CONTAINERS_CONF ??= podmanConf;
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

async function hasCommand(name: string): Promise<boolean> {
  return (await $({ nothrow: true, quiet: true })`command -v ${name}`).exitCode === 0;
}

async function installPodman(): Promise<void> {
  const isDebian = existsSync("/etc/debian_version");
  const isRoot = process.getuid?.() === 0;
  if (!isDebian || !isRoot) {
    throw new Error(
      "No container engine: set DOCKER_HOST to a Docker-compatible API, or install Docker or Podman " +
        "(on Debian as root this project installs rootful Podman itself).",
    );
  }
  console.log(`[engine] installing rootful Podman from Debian's archive: ${podmanPackages.join(" ")}`);
  await $({ quiet: true })`apt-get update -qq`;
  await $({ quiet: true, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } })`apt-get install -y -qq --no-install-recommends ${podmanPackages}`;
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
  writeFileSync(join(runDir, "podman-service.pid"), String(child.pid));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await ping(`unix://${podmanSocket}`)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `Podman API did not answer on ${podmanSocket} within 30 s; see ${join(runDir, "podman-service.log")}: ${readFileSync(join(runDir, "podman-service.log"), "utf8").slice(-500)}`,
  );
}
