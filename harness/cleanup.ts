/**
 * Removes what a run may have left behind (containers and networks created by testcontainers,
 * which has no reaper here) and stops the Podman API service and the dockerd this project started.
 * Used by .ci/run at exit and by `npm run cleanup`.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { $ } from "zx";
import { dockerPidFile, dockerSocket, podmanConf, podmanPidFile, processAlive } from "./engine.js";

async function cleanup(): Promise<void> {
  const hasPodman = (await $({ nothrow: true, quiet: true })`command -v podman`).exitCode === 0;
  if (hasPodman) {
    await removeLeftovers("podman", $({ nothrow: true, quiet: true, env: { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? podmanConf } }));
  }
  if (existsSync(dockerPidFile)) {
    await removeLeftovers("docker", $({ nothrow: true, quiet: true, env: { ...process.env, DOCKER_HOST: `unix://${dockerSocket}` } }));
    await stopProcess(Number(readFileSync(dockerPidFile, "utf8")), "dockerd");
  }
  if (existsSync(podmanPidFile)) {
    await stopProcess(Number(readFileSync(podmanPidFile, "utf8")), "the Podman API service");
    rmSync(podmanPidFile, { force: true });
  }
}

/**
 * What runs left behind: containers made by testcontainers or by a @compose project (named
 * pgba<random>_<service>_1), then networks and volumes of either (the fixtures name theirs pgba-*).
 */
async function removeLeftovers(cli: "podman" | "docker", sh: typeof $): Promise<void> {
  const list = async (args: string[]) => (await sh`${cli} ${args}`).stdout.split("\n").filter(Boolean);
  const ids = [
    ...new Set([...(await list(["ps", "-aq", "--filter", "label=org.testcontainers=true"])), ...(await list(["ps", "-aq", "--filter", "name=^pgba"]))]),
  ];
  if (ids.length) await sh`${cli} rm -f -v ${ids}`;
  const nets = [
    ...new Set([
      ...(await list(["network", "ls", "-q", "--filter", "label=org.testcontainers=true"])),
      ...(await list(["network", "ls", "-q", "--filter", "name=^pgba"])),
    ]),
  ];
  if (nets.length) await sh`${cli} network rm ${nets}`;
  const volumes = await list(["volume", "ls", "-q", "--filter", "name=^pgba"]);
  if (volumes.length) await sh`${cli} volume rm -f ${volumes}`;
  console.log(`[cleanup] ${cli}: removed ${ids.length} container(s), ${nets.length} network(s), ${volumes.length} volume(s)`);
}

/** SIGTERM, then waits up to 20 s for the process to end (dockerd stops its containerd first). */
async function stopProcess(pid: number, name: string): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    if (!processAlive(pid)) {
      console.log(`[cleanup] stopped ${name} (pid ${pid})`);
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`[cleanup] ${name} (pid ${pid}) still running after 20 s`);
}

await cleanup();
