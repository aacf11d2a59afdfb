/**
 * Removes what a run may have left behind (containers and networks created by testcontainers,
 * which has no reaper here, and Podman port forwards whose container is gone) and stops the
 * Podman API service and the dockerd this project started. Used by .ci/run before and after its
 * runs, and by `npm run cleanup`; not while another run uses the engine.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { $, type Shell } from "zx";
import { splitShellWords } from "../runtime/lib/shell-words.js";
import { dockerPidFile, dockerSocket, podmanConf, podmanPidFile, processAlive } from "./engine.js";

async function cleanup(): Promise<void> {
  const hasPodman = (await $({ nothrow: true, quiet: true })`command -v podman`).exitCode === 0;
  if (hasPodman) {
    const podman = $({ nothrow: true, quiet: true, env: { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? podmanConf } });
    await removeLeftovers("podman", podman);
    await removeStalePortForwards(podman);
    await removeStaleNetworkState(podman);
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
 * rootful Podman 4.3's netavark 1.4 writes them to iptables' nat table). Such a rule still sends its
 * host port to an address nobody has, so a later container that Podman gives the same port cannot
 * be reached (a CI run failed on "connect EHOSTUNREACH 127.0.0.1:35537" this way). Removed, each by
 * its exact text: the jumps naming a container that is gone, the DNAT rules to an address no
 * container has, and the mark rules of ports nothing forwards any more. Only safe while no run
 * creates or removes containers (.ci/run calls it before and after its runs). IPv4 only: the
 * networks here have no IPv6. Machines without iptables, or where listing fails, are left alone.
 */
async function removeStalePortForwards(sh: Shell): Promise<void> {
  const listed = await sh`iptables -w -t nat -S`;
  const ps = await sh`podman ps -aq --no-trunc`;
  if (listed.exitCode !== 0 || ps.exitCode !== 0) return;
  const ids = ps.stdout.split("\n").filter(Boolean);
  const inspected = ids.length ? await sh`podman inspect --format ${"{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"} ${ids}` : undefined;
  if (inspected && inspected.exitCode !== 0) return;
  const liveIds = new Set(ids);
  const liveAddresses = new Set(inspected?.stdout.split(/\s+/).filter(Boolean));
  const rules = listed.stdout.split("\n").filter((line) => /^-A NETAVARK-(HOSTPORT-DNAT|DN-)/.test(line));
  const deadJump = (rule: string) => {
    const id = rule.match(/ id: ([0-9a-f]{64})\b/)?.[1];
    return rule.startsWith("-A NETAVARK-HOSTPORT-DNAT ") && id !== undefined && !liveIds.has(id);
  };
  const deadDnat = (rule: string) => {
    const address = rule.match(/ --to-destination ([0-9.]+):/)?.[1];
    return rule.startsWith("-A NETAVARK-DN-") && address !== undefined && !liveAddresses.has(address);
  };
  const stale = rules.filter((rule) => deadJump(rule) || deadDnat(rule));
  // A chain's mark rules for a port serve its DNAT rules for that port: once none is left, they go too.
  const forwarded = new Set(rules.filter((rule) => !stale.includes(rule) && / -j DNAT /.test(rule)).map(chainAndPort));
  stale.push(...rules.filter((rule) => / -j NETAVARK-HOSTPORT-SETMARK$/.test(rule) && !forwarded.has(chainAndPort(rule))));
  if (!stale.length) return;
  let removed = 0;
  for (const rule of stale) {
    const deleted = await sh`iptables -w -t nat -D ${splitShellWords(rule).slice(1)}`;
    if (deleted.exitCode === 0) removed++;
  }
  console.log(`[cleanup] podman: removed ${removed} of ${stale.length} port-forward rule(s) left by containers that no longer exist`);
}

/** "NETAVARK-DN-<network> <port>" of a rule in a network's port-forward chain. */
function chainAndPort(rule: string): string {
  return `${rule.split(" ")[1]} ${rule.match(/ --dport (\S+)/)?.[1]}`;
}

/**
 * What netavark left of networks that no longer exist (the same cut-short teardowns): aardvark-dns
 * configurations and bridges. aardvark-dns serves every file in its directory, and test networks
 * reuse the same subnets, so a stale file for 10.89.0.1 made two servers race for one address on
 * every reload (strace: EADDRINUSE each time); whichever won served the test network's names.
 * The files go, aardvark-dns is told to reload (SIGHUP, as netavark does), and the bridges go.
 * Same caveat: not while a run is going.
 */
async function removeStaleNetworkState(sh: Shell): Promise<void> {
  const listed = await sh`podman network ls --format ${"{{.Name}} {{.NetworkInterface}}"}`;
  if (listed.exitCode !== 0) return;
  const networks = listed.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(" "));
  const names = new Set(networks.map(([name]) => name));
  const bridges = new Set(networks.map(([, bridge]) => bridge));
  const dir = aardvarkConfigDir;
  const staleConfigs = existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith("aardvark.") && !names.has(f)) : [];
  for (const f of staleConfigs) rmSync(join(dir, f), { force: true });
  // No pid file (aardvark-dns not running) or an empty one: nothing to tell. Number("") is 0, and
  // signalling 0 would reach this process's own group.
  const pidFile = join(dir, "aardvark.pid");
  const pid = staleConfigs.length && existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : 0;
  if (pid > 0 && processAlive(pid)) process.kill(pid, "SIGHUP");
  const linked = await sh`ip -o link show type bridge`;
  const staleBridges = linked.stdout
    .split("\n")
    .map((line) => line.split(": ")[1]?.split("@")[0])
    .filter((bridge): bridge is string => !!bridge && /^podman\d+$/.test(bridge) && !bridges.has(bridge));
  for (const bridge of staleBridges) await sh`ip link delete ${bridge}`;
  if (staleConfigs.length || staleBridges.length) {
    console.log(
      `[cleanup] podman: removed the DNS configuration of ${staleConfigs.length} and the bridge of ${staleBridges.length} network(s) that no longer exist`,
    );
  }
}

/** Where rootful Podman's netavark keeps aardvark-dns' configuration: one file per network, and its pid. */
const aardvarkConfigDir = "/run/containers/networks/aardvark-dns";

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
