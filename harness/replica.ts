/**
 * Replica fixture: the same image with PG_MODE=replica, cloned from a primary on the same
 * network. `new ReplicaContainer(image).withPrimary("primary").withReplication(ca, pw).start()`
 * gives a started replica with helpers to wait for streaming and replay, and to promote it.
 * It takes the primary's superuser credentials (a clone has the primary's roles).
 */
import { slotName } from "../runtime/lib/replication.js";
import { caDir, PrimaryContainer, StartedPrimaryContainer, type ExecOutput } from "./primary.js";
import { pollUntil } from "./poll.js";

export class ReplicaContainer extends PrimaryContainer {
  private slot?: string;

  constructor(image: string) {
    super(image);
    // A replica copies its primary's data before it reports ready: allow more than a new database.
    this.withStartupTimeout(300_000);
  }

  /** Clone from and stream from this host (a network alias of the primary). */
  withPrimary(host: string, port = 5432): this {
    return this.withEnvironment({ PG_MODE: "replica", PRIMARY_HOST: host, PRIMARY_PORT: String(port) });
  }

  /** Replicas take the password as a plain variable (primaries from a secret file: both forms work). */
  override withReplication(caVolume: string, password: string): this {
    return this.withNamedVolume(caVolume, caDir).withEnvironment({ REPLICATION_PASSWORD: password });
  }

  override withServerName(name: string): this {
    this.slot = slotName(name);
    return super.withServerName(name);
  }

  /** Restore the primary's latest backup as a standby instead of pg_basebackup (REPLICA_BOOTSTRAP=backup). */
  withBackupBootstrap(): this {
    return this.withEnvironment({ REPLICA_BOOTSTRAP: "backup" });
  }

  override async start(): Promise<StartedReplicaContainer> {
    const started = await super.start();
    return new StartedReplicaContainer(started, started.stanza, started.bucket, this.slot);
  }
}

export class StartedReplicaContainer extends StartedPrimaryContainer {
  constructor(
    started: StartedPrimaryContainer,
    stanza: string | undefined,
    bucket: StartedPrimaryContainer["bucket"],
    readonly slot: string | undefined,
  ) {
    super(started, stanza, bucket);
  }

  /** Waits until the WAL receiver streams from the primary; on timeout the error carries the log's tail. */
  async waitForStreaming(timeoutMs = 120_000): Promise<void> {
    try {
      await pollUntil(
        "WAL receiver streaming",
        async () => {
          const [row] = await this.sql<{ status: string }>("SELECT status FROM pg_stat_wal_receiver");
          return row?.status === "streaming";
        },
        { timeoutMs },
      );
    } catch (e) {
      const tail = (await this.logText()).trim().split("\n").slice(-30).join("\n");
      throw new Error(`${(e as Error).message}\n--- last lines of the replica's log ---\n${tail}`);
    }
  }

  /** Waits until this replica has replayed WAL up to `lsn` (from the primary's walLsn()). */
  waitForReplay(lsn: string, timeoutMs = 60_000): Promise<void> {
    return pollUntil(
      `replay past ${lsn}`,
      async () => {
        const [row] = await this.sql<{ done: boolean }>("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done", [lsn]);
        return row.done;
      },
      { timeoutMs, intervalMs: 200 },
    ).then(() => undefined);
  }

  /** `postgres-ba promote`: returns once the container checked the stanza and took a full backup. */
  promote(): Promise<ExecOutput> {
    return this.execOk(["postgres-ba", "promote"]);
  }
}
