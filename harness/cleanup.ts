/**
 * Removes what a run may have left behind (containers and networks created by testcontainers,
 * which has no reaper here) and stops the Podman API service and the dockerd this project started.
 * Used by .ci/run at exit and by `npm run cleanup`.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { $, type Shell } from "zx";
import { dockerPidFile, dockerSocket, podmanConf, podmanPidFile, processAlive } from "./engine.js";

async function cleanup(): Promise<void> {
  const hasPodman = (await $({ nothrow: true, quiet: true })`command -v podman`).exitCode === 0;
  if (hasPodman) {
    const podman = $({ nothrow: true, quiet: true, env: { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? podmanConf } });
    await removeLeftovers("podman", podman);
    await removeStalePortForwards(podman);
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
async function removeLeftovers(cli: "podman" | "docker", sh: Shell): Promise<void> {
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

/**
 * Port forwards netavark left behind for containers that no longer exist (a teardown cut short:
 * rootful Podman 4.3's netavark 1.4 writes them to iptables). Such a rule still sends its host port
 * to an address nobody has, so a later container that Podman gives the same port cannot be reached
 * (a CI run failed on "connect EHOSTUNREACH 127.0.0.1:35537" this way). Rules of live containers,
 * and machines without iptables, are left alone.
 */
async function removeStalePortForwards(sh: Shell): Promise<void> {
  const rules = (chain: string) => iptablesRules(sh, chain);
  const dnat = await rules("NETAVARK-HOSTPORT-DNAT");
  if (!dnat.length) return;
  const live = new Set((await sh`podman ps -aq --no-trunc`).stdout.split("\n").filter(Boolean));
  const stale = dnat.filter((r) => r.containerId && !live.has(r.containerId));
  if (!stale.length) return;
  const kept = dnat.filter((r) => !stale.includes(r));
  // The jumps first, then each target chain's rules for a port no kept jump still sends there.
  await deleteRules(sh, "NETAVARK-HOSTPORT-DNAT", stale);
  for (const chain of new Set(stale.map((r) => r.target))) {
    const orphaned = (r: IptablesRule) =>
      stale.some((s) => s.target === chain && s.port === r.port) && !kept.some((k) => k.target === chain && k.port === r.port);
    await deleteRules(sh, chain, (await rules(chain)).filter(orphaned));
  }
  console.log(`[cleanup] podman: removed the port forwards of ${new Set(stale.map((r) => r.containerId)).size} container(s) that no longer exist`);
}

interface IptablesRule {
  number: number;
  target: string;
  port?: string;
  containerId?: string;
}

/** A nat chain's rules as `iptables -L --line-numbers` lists them (none when the chain or iptables is missing). */
async function iptablesRules(sh: Shell, chain: string): Promise<IptablesRule[]> {
  const listed = await sh`iptables -w -t nat -L ${chain} --line-numbers -n`;
  if (listed.exitCode !== 0) return [];
  return listed.stdout
    .split("\n")
    .map((line) => line.match(/^(\d+)\s+(\S+)(.*)$/))
    .filter((m) => m !== null)
    .map(([, number, target, rest]) => ({
      number: Number(number),
      target,
      port: rest.match(/\bdpt:(\d+)/)?.[1],
      containerId: rest.match(/\bid: ([0-9a-f]{64})\b/)?.[1],
    }));
}

/** Deletes by number, the highest first so the lower numbers still hold. */
async function deleteRules(sh: Shell, chain: string, rules: IptablesRule[]): Promise<void> {
  for (const { number } of [...rules].sort((a, b) => b.number - a.number)) await sh`iptables -w -t nat -D ${chain} ${number}`;
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
