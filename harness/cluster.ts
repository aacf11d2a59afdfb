/**
 * Cluster fixture: one network, one bucket, one CA volume, a primary and N replicas, composed
 * from the testbed, primary and replica fixtures. The primary's data lives in a named volume, so
 * a scenario can stop it and bring the same data back (as a rejoining replica, say).
 * `await new ClusterContainer(bed).withReplicas(2).start()`. Members take no scheduled backups
 * unless withSchedule() asks: the image's default (an incremental every half hour) would add
 * backups to whatever a test is counting whenever it happens to run at :00 or :30.
 */
import { randomBytes } from "node:crypto";
import type { BucketConfig } from "./s3.js";
import { noSchedule, removeVolume, type Schedule, type StartedPrimaryContainer } from "./primary.js";
import { ReplicaContainer, type StartedReplicaContainer } from "./replica.js";
import type { StartedBackupTestbed } from "./testbed.js";

export const clusterCredentials = { user: "app", password: "app-secret", database: "app" };

export class ClusterContainer {
  private replicaCount = 1;
  private bootstrap: "basebackup" | "backup" = "basebackup";
  private schedule = noSchedule;
  private environment: Record<string, string> = {};

  constructor(private readonly bed: StartedBackupTestbed) {}

  /** The backup schedule of every member (off by default). */
  withSchedule(schedule: Schedule): this {
    this.schedule = schedule;
    return this;
  }

  /** Settings of every member (primary and replicas alike). */
  withEnvironment(env: Record<string, string>): this {
    this.environment = { ...this.environment, ...env };
    return this;
  }

  withReplicas(count: number): this {
    this.replicaCount = count;
    return this;
  }

  /** Replicas restore the primary's latest backup as standbys instead of pg_basebackup. */
  withBackupBootstrap(): this {
    this.bootstrap = "backup";
    return this;
  }

  async start(): Promise<StartedCluster> {
    const id = randomBytes(4).toString("hex");
    const bucket = await this.bed.s3.createBucket(`cluster-${id}`);
    const cluster = new StartedCluster(this.bed, bucket, `pgba-ca-${id}`, `pgba-primary-${id}`, `replication-${id}`, this.schedule, this.environment);
    try {
      cluster.primary = await cluster.primaryContainer().start();
      // Replicas start from a cluster whose stanza is active: its first full backup exists.
      await cluster.primary.waitForBackupsActive();
      for (let i = 1; i <= this.replicaCount; i++) {
        const replica = cluster.replicaContainer(`replica${i}`);
        cluster.replicas.push(await (this.bootstrap === "backup" ? replica.withBackupBootstrap() : replica).start());
      }
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }
}

export class StartedCluster {
  primary!: StartedPrimaryContainer;
  readonly replicas: StartedReplicaContainer[] = [];

  constructor(
    readonly bed: StartedBackupTestbed,
    readonly bucket: BucketConfig,
    readonly caVolume: string,
    readonly primaryVolume: string,
    readonly replicationPassword: string,
    private readonly schedule: Schedule = noSchedule,
    private readonly environment: Record<string, string> = {},
  ) {}

  /** The primary as configured (named "primary" on the network), e.g. to start its data again. */
  primaryContainer() {
    return this.bed
      .primary(this.bucket)
      .withUsername(clusterCredentials.user)
      .withPassword(clusterCredentials.password)
      .withDatabase(clusterCredentials.database)
      .withServerName("primary")
      .withDataVolume(this.primaryVolume)
      .withReplication(this.caVolume, this.replicationPassword)
      .withSchedule(this.schedule)
      .withEnvironment(this.environment);
  }

  /** A replica of `primaryHost` named `name`, not started yet (add a data volume, a bootstrap, ...). */
  replicaContainer(name: string, primaryHost = "primary"): ReplicaContainer {
    return new ReplicaContainer(this.bed.image)
      .withNetwork(this.bed.network)
      .withBucket(this.bucket)
      .withUsername(clusterCredentials.user)
      .withPassword(clusterCredentials.password)
      .withDatabase(clusterCredentials.database)
      .withServerName(name)
      .withPrimary(primaryHost)
      .withReplication(this.caVolume, this.replicationPassword)
      .withSchedule(this.schedule)
      .withEnvironment(this.environment);
  }

  /** Stops every member and removes the cluster's volumes (the testbed stays). */
  async stop(): Promise<void> {
    await Promise.all([...this.replicas, ...(this.primary ? [this.primary] : [])].map((c) => c.stop({ removeVolumes: true }).catch(() => undefined)));
    await removeVolume(this.primaryVolume);
    await removeVolume(this.caVolume);
  }
}
