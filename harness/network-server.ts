/**
 * What the builders of the harness's repository servers (S3, Azurite) share: the test network
 * they join and the host name product containers reach them by.
 */
import type { StartedNetwork } from "testcontainers";

export abstract class NetworkServerBuilder {
  private network?: StartedNetwork;

  constructor(protected alias: string) {}

  withNetwork(network: StartedNetwork): this {
    this.network = network;
    return this;
  }

  /** The host name product containers use instead of the default: two servers on one network need two. */
  withNetworkAlias(alias: string): this {
    this.alias = alias;
    return this;
  }

  /** The network, which start() cannot do without: product containers reach the server by its alias there. */
  protected joinedNetwork(): StartedNetwork {
    if (!this.network) throw new Error(`${this.constructor.name} needs withNetwork(): product containers reach it by its network alias`);
    return this.network;
  }
}
