/**
 * HA cluster fixture (HA_MODE=patroni): an etcd member run from the image's ha target
 * (`postgres-ba etcd`), and N members sharing one bucket and one CA volume.
 * `await new HaClusterContainer(bed).withMembers(3).withEnvironment({ HA_SYNCHRONOUS_MODE: "on" }).start()`.
 * Patroni's timings are short here (ttl 20 s, loop_wait 2 s, retry_timeout 5 s) so a failover
 * takes seconds, not the defaults' half minute. Members take no scheduled backups.
 */
import { randomBytes } from "node:crypto";
import { $ } from "zx";
import { containerEngine } from "./engine.js";
import { haImage } from "./image.js";
import { type DetachedContainer, OneShotContainer } from "./one-shot.js";
import { pollUntil } from "./poll.js";
import { caDir, noSchedule, PrimaryContainer, removeVolume, type StartedPrimaryContainer } from "./primary.js";
import type { BucketConfig } from "./s3.js";
import type { StartedBackupTestbed } from "./testbed.js";

export const haCredentials = { user: "app", password: "app-secret", database: "app" };

/** The etcd member's name on the network (HA_ETCD_HOSTS). */
export const etcdHost = "etcd";

export const haTimings = { HA_TTL: "20", HA_LOOP_WAIT: "2", HA_RETRY_TIMEOUT: "5" };

export class HaClusterContainer {
  private memberCount = 3;
  private environment: Record<string, string> = {};
  private bucket?: BucketConfig;

  constructor(private readonly bed: StartedBackupTestbed) {}

  withMembers(count: number): this {
    this.memberCount = count;
    return this;
  }

  /** An existing bucket (a stanza to bootstrap from, with RESTORE_FROM_BACKUP); by default a new one. */
  withBucket(bucket: BucketConfig): this {
    this.bucket = bucket;
    return this;
  }

  /** Settings of every member. */
  withEnvironment(env: Record<string, string>): this {
    this.environment = { ...this.environment, ...env };
    return this;
  }

  async start(): Promise<StartedHaCluster> {
    const id = randomBytes(4).toString("hex");
    const image = await haImage();
    const bucket = this.bucket ?? (await this.bed.s3.createBucket(`ha-${id}`));
    const cluster = new StartedHaCluster(this.bed, image, bucket, `pgba-ca-${id}`, `replication-${id}`, this.environment);
    try {
      cluster.etcd = await new OneShotContainer(image)
        .withCommand(["postgres-ba", "etcd"])
        .withEnvironment({ SERVER_NAME: etcdHost })
        .withNetwork(this.bed.network.getName())
        .withNetworkAlias(etcdHost)
        .withVolume(cluster.caVolume, caDir)
        .startDetached();
      await pollUntil("etcd serving clients", async () => (await cluster.etcd.logText()).includes("serving client traffic securely"));
      // One after the other (each start waits for its health check): the first bootstraps the
      // cluster, the others clone it. Started at once, the engine's port binding timed out here.
      for (let i = 1; i <= this.memberCount; i++) cluster.members.push(await cluster.memberContainer(`member${i}`).start());
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }
}

export class StartedHaCluster {
  etcd!: DetachedContainer;
  readonly members: StartedPrimaryContainer[] = [];

  constructor(
    readonly bed: StartedBackupTestbed,
    readonly image: string,
    readonly bucket: BucketConfig,
    readonly caVolume: string,
    private readonly replicationPassword: string,
    private readonly environment: Record<string, string>,
  ) {}

  /** A member named `name` (its SERVER_NAME, network alias and Patroni name), not started yet. */
  memberContainer(name: string): PrimaryContainer {
    return new PrimaryContainer(this.image)
      .withNetwork(this.bed.network)
      .withBucket(this.bucket)
      .withUsername(haCredentials.user)
      .withPassword(haCredentials.password)
      .withDatabase(haCredentials.database)
      .withServerName(name)
      .withReplication(this.caVolume, this.replicationPassword)
      .withSchedule(noSchedule)
      .withEnvironment({ HA_MODE: "patroni", HA_ETCD_HOSTS: `${etcdHost}:2379`, ...haTimings, ...this.environment });
  }

  /** The member whose server is writable, once exactly one is (polled until `timeoutMs`). */
  leader(timeoutMs = 60_000, among = this.members): Promise<StartedPrimaryContainer> {
    return pollUntil(
      "exactly one writable leader",
      async () => {
        const writable = await Promise.all(among.map(async (m) => ((await isWritable(m)) ? m : undefined)));
        const leaders = writable.filter((m) => m !== undefined);
        return leaders.length === 1 ? leaders[0] : undefined;
      },
      { timeoutMs },
    );
  }

  /**
   * Every member's log for a failure message: the last `lines` lines of each (from `since[i]`
   * characters on, when given), without Patroni's Python tracebacks, pgBackRest's INFO lines,
   * the etcd client's retries and lines matching `omit`, so the runtime's and Patroni's own
   * decisions fit.
   */
  async logs(lines = 80, since: number[] = [], omit?: RegExp): Promise<string> {
    const parts = await Promise.all(
      this.members.map(async (m, i) => {
        const name = (await m.execOk(["printenv", "SERVER_NAME"]).catch(() => ({ output: m.getName() }))).output.trim();
        const kept = (await m.logText())
          .slice(since[i] ?? 0)
          .split("\n")
          .filter((l) => !/^(\s|Traceback|psycopg2?\.)/.test(l) && !noise.test(l) && !omit?.test(l));
        return `--- ${name}\n${kept.slice(-lines).join("\n")}`;
      }),
    );
    return parts.join("\n");
  }

  /** SIGKILL to a member's container: no shutdown, the leader lock is not released. */
  async kill(member: StartedPrimaryContainer): Promise<void> {
    const { cli } = await containerEngine();
    await $({ quiet: true })`${cli} kill --signal KILL ${member.getId()}`;
  }

  /** Stops every member and etcd, and removes the CA volume (the testbed stays). */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop({ removeVolumes: true }).catch(() => undefined)));
    await this.etcd?.remove().catch(() => undefined);
    await removeVolume(this.caVolume);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Log lines that repeat every second while a store or the archive is being waited for. */
const noise = / P\d\d +INFO: |WARNING: (failed to resolve host|Retrying \(Retry)|ERROR: (Failed to get list of machines|KVCache\.run)/;

async function isWritable(member: StartedPrimaryContainer): Promise<boolean> {
  try {
    return (await member.sql<{ recovery: boolean }>("SELECT pg_is_in_recovery() AS recovery"))[0]?.recovery === false;
  } catch {
    return false;
  }
}
