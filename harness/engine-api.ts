/**
 * What the harness asks of the engine's API beyond testcontainers' own calls, through the same
 * dockerode instance testcontainers talks to the engine with.
 */
import { getContainerRuntimeClient } from "testcontainers";
import { containerEngine } from "./engine.js";

export interface EngineContainer {
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
  getNetwork(name: string): { inspect(): Promise<{ IPAM?: { Config?: Array<{ Gateway?: string }> } }> };
}

export async function engineApi(): Promise<EngineApi> {
  return ((await getContainerRuntimeClient()).container as unknown as { dockerode: EngineApi }).dockerode;
}

/** The name-server settings of a container, by network name (one lookup per network and process). */
const nameServersByNetwork = new Map<string, Promise<NameServerSettings | undefined>>();
interface NameServerSettings {
  Dns: string[];
  DnsOptions: string[];
}

/**
 * Host-config settings that keep a container's name lookups on its network's own DNS server, or
 * nothing to change. Podman 4.3 lists two servers in a container's resolv.conf: the network's
 * aardvark-dns, then the host's. On these 2-core machines aardvark sometimes answered late while
 * other containers started or stopped, and the resolver then asked the host's server, which has
 * never heard of "s3" or "replica1": "[-2] Name or service not known", and a backup or a promotion
 * failed (one test in each of several fresh-clone runs). Given aardvark alone, the resolver asks it
 * again (five tries instead of two) and aardvark still forwards other names to the host's server.
 * Docker's embedded server (127.0.0.11) is the only one its containers list: nothing to change.
 */
export function networkNameServers(network: string): Promise<NameServerSettings | undefined> {
  let settings = nameServersByNetwork.get(network);
  if (!settings) {
    settings = (async () => {
      // "container:<id>" shares another container's network namespace and resolv.conf; host and none have no aardvark.
      if ((await containerEngine()).kind !== "podman" || network.startsWith("container:") || ["host", "none"].includes(network)) return undefined;
      const gateways = ((await (await engineApi()).getNetwork(network).inspect()).IPAM?.Config ?? []).flatMap((c) => (c.Gateway ? [c.Gateway] : []));
      return gateways.length ? { Dns: gateways, DnsOptions: ["attempts:5"] } : undefined;
    })();
    nameServersByNetwork.set(network, settings);
  }
  return settings;
}
