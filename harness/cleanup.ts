/**
 * Removes what a run may have left behind (containers and networks created by testcontainers,
 * which has no reaper here) and stops the Podman API service this project started.
 * Used by .ci/run at exit and by `npm run cleanup`.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import { projectRoot } from "./paths.js";

const runDir = join(projectRoot, ".run");
const pidFile = join(runDir, "podman-service.pid");
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

await cleanup();
