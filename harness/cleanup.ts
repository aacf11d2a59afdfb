/**
 * Removes what a run may have left behind (containers and networks created by testcontainers,
 * which has no reaper here) and stops the Podman API service and the dockerd this project started.
 * Used by .ci/run at exit and by `npm run cleanup`.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import { dockerPidFile } from "./engine.js";
import { projectRoot } from "./paths.js";

const runDir = join(projectRoot, ".run");
const pidFile = join(runDir, "podman-service.pid");
const dockerSocket = join(runDir, "docker.sock");
const podmanConf = join(projectRoot, "harness", "podman", "containers.conf");

async function cleanup(): Promise<void> {
  const hasPodman = (await $({ nothrow: true, quiet: true })`command -v podman`).exitCode === 0;
  if (hasPodman) {
    const sh = $({ nothrow: true, quiet: true, env: { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? podmanConf } });
    const ids = (await sh`podman ps -aq --filter label=org.testcontainers=true`).stdout.split("\n").filter(Boolean);
    if (ids.length) await sh`podman rm -f -v ${ids}`;
    const nets = (await sh`podman network ls -q --filter label=org.testcontainers=true`).stdout.split("\n").filter(Boolean);
    if (nets.length) await sh`podman network rm -f ${nets}`;
    console.log(`[cleanup] removed ${ids.length} container(s), ${nets.length} network(s)`);
  }
  if (existsSync(dockerPidFile)) {
    const docker = $({ nothrow: true, quiet: true, env: { ...process.env, DOCKER_HOST: `unix://${dockerSocket}` } });
    const ids = (await docker`docker ps -aq --filter label=org.testcontainers=true`).stdout.split("\n").filter(Boolean);
    if (ids.length) await docker`docker rm -f -v ${ids}`;
    await docker`docker network prune -f`;
    const pid = Number(readFileSync(dockerPidFile, "utf8"));
    await stopProcess(pid, "dockerd");
  }
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8"));
    try {
      process.kill(pid, "SIGTERM");
      console.log(`[cleanup] stopped the Podman API service (pid ${pid})`);
    } catch {
      // already gone
    }
    rmSync(pidFile, { force: true });
  }
}

/** SIGTERM, then waits up to 20 s for the process to end (dockerd stops its containerd first). */
async function stopProcess(pid: number, name: string): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      console.log(`[cleanup] stopped ${name} (pid ${pid})`);
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`[cleanup] ${name} (pid ${pid}) still running after 20 s`);
}

await cleanup();
