/**
 * Primary fixture: our image under @testcontainers/postgresql's PostgreSqlContainer, unchanged
 * (itself a drop-in check: downstream teams already use that module with the official image).
 * `new PrimaryContainer(image).withBucket(bucket).start()` gives a typed started object with
 * helpers for SQL over verified TLS, pgBackRest, backups, logs, restart and stop.
 */
import { PostgreSqlContainer, StartedPostgreSqlContainer } from "@testcontainers/postgresql";
import type pg from "pg";
import { $ } from "zx";
import { parseInfoJson } from "../runtime/lib/repository.js";
import { containerEngine } from "./engine.js";
import { HealthyOrExitedWaitStrategy } from "./healthy-or-exited.js";
import { connectVerified, queryVerified, type Credentials } from "./pg-client.js";
import { pollUntil } from "./poll.js";
import { containerLogText } from "./one-shot.js";
import type { BucketConfig } from "./s3.js";

/** Schedules as cron expressions (seconds allowed) or "off". */
export interface Schedule {
  full?: string;
  diff?: string;
  incr?: string;
}

/** No scheduled backups: a test that counts backups counts only the ones it takes. */
export const noSchedule: Schedule = { full: "off", diff: "off", incr: "off" };

/** One backup as `pgbackrest info --output=json` lists it (the fields tests use). */
export interface BackupInfo {
  label: string;
  type: "full" | "diff" | "incr";
  prior: string | null;
  reference: string[] | null;
  timestamp: { start: number; stop: number };
  archive: { start: string; stop: string };
  /** Bytes; with repo1-bundle pgBackRest reports only the repository delta (what this backup stored). */
  info: { size: number; delta: number; repository: { size?: number; delta: number } };
  /** The repository that holds it (1, or 2 with REPO2_TYPE). */
  database: { id: number; "repo-key": number };
}

export interface StanzaInfo {
  name: string;
  status: { code: number; message: string };
  backup: BackupInfo[];
  archive: Array<{ id: string; min: string | null; max: string | null }>;
  /** The clusters the stanza belongs to (more than one only after an upgrade). */
  db: Array<{ id: number; "system-id": string; version: string }>;
}

export interface ExecOutput {
  exitCode: number;
  output: string;
}

/** Where recovery stops; at most one. Without any, everything archived is replayed. */
export interface RestoreTarget {
  time?: string;
  lsn?: string;
  xid?: string;
  name?: string;
  immediate?: boolean;
  action?: "promote" | "pause" | "shutdown";
  /** A backup label to restore instead of letting the image choose. */
  set?: string;
}

/** One row per replica connected to a primary: pg_stat_replication with its slot and TLS state. */
export interface ReplicationStatus {
  application_name: string;
  state: string;
  sync_state: string;
  slot_name: string | null;
  ssl: boolean;
  ssl_version: string | null;
  /** Bytes the replica has not replayed yet. */
  replay_lag_bytes: string;
  /** Seconds (null when idle). */
  replay_lag_seconds: number | null;
}

/** Where the cluster's shared CA lives in every member (CA_DIR's default). */
export const caDir = "/var/lib/postgresql/ca";

export class PrimaryContainer extends PostgreSqlContainer {
  private stanza?: string;
  private bucket?: BucketConfig;
  private mounts: Array<{ source: string; target: string }> = [];

  constructor(image: string) {
    super(image);
    // The image's own health check only: it passes once the runtime has declared the server
    // ready and it answers on TCP, which covers the module's listening-port check. That check
    // runs three execs every 100 ms until the port opens (about a second of CPU per second of a
    // restore or a clone, on these 2-core machines).
    this.withWaitStrategy(new HealthyOrExitedWaitStrategy());
  }

  /** Back up to this bucket under `stanza`. Without it the container runs in drop-in mode. */
  withBucket(bucket: BucketConfig, stanza = "main"): this {
    this.stanza = stanza;
    this.bucket = bucket;
    return this.withEnvironment({ ...bucket.env, PGBACKREST_STANZA: stanza }).withCopyContentToContainer([{ ...bucket.caFile, mode: 0o644 }]);
  }

  /**
   * Back up to a directory instead of a bucket (REPO_TYPE=posix): the named volume `volume`
   * mounted at `path`, as an NFS share or a second disk would be.
   */
  withRepositoryVolume(volume: string, path: string, stanza = "main"): this {
    this.stanza = stanza;
    return this.withNamedVolume(volume, path).withEnvironment({ PGBACKREST_STANZA: stanza, REPO_TYPE: "posix", REPO_PATH: path });
  }

  /**
   * A second repository beside the first (REPO2_TYPE=posix): the named volume `volume` at `path`.
   * WAL goes to both, backups are taken in both.
   */
  withSecondRepositoryVolume(volume: string, path: string): this {
    return this.withNamedVolume(volume, path).withEnvironment({ REPO2_TYPE: "posix", REPO2_PATH: path });
  }

  /** Restore from the bucket when the data volume is empty (RESTORE_FROM_BACKUP), optionally to a target. */
  withRestore(target: RestoreTarget = {}): this {
    const env: Record<string, string> = { RESTORE_FROM_BACKUP: "true" };
    if (target.time) env.RESTORE_TARGET_TIME = target.time;
    if (target.lsn) env.RESTORE_TARGET_LSN = target.lsn;
    if (target.xid) env.RESTORE_TARGET_XID = target.xid;
    if (target.name) env.RESTORE_TARGET_NAME = target.name;
    if (target.immediate) env.RESTORE_TARGET_IMMEDIATE = "true";
    if (target.action) env.RESTORE_TARGET_ACTION = target.action;
    if (target.set) env.RESTORE_SET = target.set;
    return this.withEnvironment(env);
  }

  /**
   * Keep /var/lib/postgresql in a named volume, so a later container (a restart after a crash,
   * a new image) finds the same data. A bind mount whose source is a name is a named volume to
   * both Docker and Podman. Remove it with removeVolume().
   */
  withDataVolume(name: string): this {
    return this.withNamedVolume(name, "/var/lib/postgresql");
  }

  /** Mounts a named volume; mounts accumulate (testcontainers' withBindMounts replaces the list). */
  withNamedVolume(name: string, target: string): this {
    this.mounts = [...this.mounts.filter((m) => m.target !== target), { source: name, target }];
    return this.withBindMounts(this.mounts.map((m) => ({ ...m, mode: "rw" as const })));
  }

  /**
   * Lets replicas connect: the cluster's CA in a named volume shared by every member (generated by
   * whichever starts first), and the replication role's password as a secret file.
   */
  withReplication(caVolume: string, password: string): this {
    return this.withNamedVolume(caVolume, caDir)
      .withCopyContentToContainer([{ content: password, target: "/run/secrets/replication-password", mode: 0o644 }])
      .withEnvironment({ REPLICATION_PASSWORD_FILE: "/run/secrets/replication-password" });
  }

  /** The name other members reach it by on the network, and the name in its certificate. */
  withServerName(name: string): this {
    return this.withNetworkAliases(name).withEnvironment({ SERVER_NAME: name });
  }

  withSchedule(schedule: Schedule): this {
    const env: Record<string, string> = {};
    if (schedule.full) env.BACKUP_SCHEDULE_FULL = schedule.full;
    if (schedule.diff) env.BACKUP_SCHEDULE_DIFF = schedule.diff;
    if (schedule.incr) env.BACKUP_SCHEDULE_INCR = schedule.incr;
    return this.withEnvironment(env);
  }

  override async start(): Promise<StartedPrimaryContainer> {
    await containerEngine();
    // The image's own readiness (TCP, and writable after a restore) instead of the module's
    // socket-agnostic pg_isready; polled fast so tests do not wait for the image's 10 s interval.
    this.withHealthCheck({ test: ["CMD", "docker-healthcheck.sh"], interval: 250, timeout: 5000, retries: 10_000, startPeriod: 0 });
    // A container that never gets ready says why: its last log lines go into the error.
    const tail: string[] = [];
    this.withLogConsumer((stream) =>
      stream.on("data", (chunk: Buffer | string) => {
        tail.push(...String(chunk).split("\n").filter(Boolean));
        tail.splice(0, Math.max(0, tail.length - 40));
      }),
    );
    try {
      return new StartedPrimaryContainer(await super.start(), this.stanza, this.bucket);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- last lines of the container log ---\n${tail.join("\n")}`);
    }
  }
}

/**
 * A new container restored from a primary's bucket and stanza, optionally to a target, that
 * never writes to that repository (REPO_READ_ONLY): what downstream teams use to test
 * their restores without touching the original.
 */
export class RestoredCloneContainer extends PrimaryContainer {
  constructor(image: string, source: StartedPrimaryContainer) {
    super(image);
    if (!source.bucket || !source.stanza) throw new Error("RestoredCloneContainer needs a source started withBucket()");
    this.withBucket(source.bucket, source.stanza)
      .withUsername(source.getUsername())
      .withPassword(source.getPassword())
      .withDatabase(source.getDatabase())
      .withEnvironment({ REPO_READ_ONLY: "true" })
      .withRestore();
  }

  withTarget(target: RestoreTarget): this {
    return this.withRestore(target);
  }
}

/** Copies a named volume into a new one (ownership and modes kept), e.g. to try two things on one data directory. */
export async function copyVolume(image: string, from: string, to: string): Promise<void> {
  const { cli } = await containerEngine();
  await $({ quiet: true })`${cli} run --rm --entrypoint sh -v ${from}:/from -v ${to}:/to ${image} -c ${"cp -a /from/. /to/"}`;
}

/** Removes a named data volume (after the containers using it are gone). */
export async function removeVolume(name: string): Promise<void> {
  const { cli } = await containerEngine();
  await $({ quiet: true, nothrow: true })`${cli} volume rm -f ${name}`;
}

export class StartedPrimaryContainer extends StartedPostgreSqlContainer {
  constructor(
    started: StartedPostgreSqlContainer,
    readonly stanza: string | undefined,
    readonly bucket: BucketConfig | undefined,
  ) {
    // Reuse the started container and its credentials; the wrapper only adds helpers.
    super(
      (started as unknown as { startedTestContainer: ConstructorParameters<typeof StartedPostgreSqlContainer>[0] }).startedTestContainer,
      started.getDatabase(),
      started.getUsername(),
      started.getPassword(),
    );
  }

  private credentials(database = this.getDatabase()): Credentials {
    return { user: this.getUsername(), password: this.getPassword(), database };
  }

  /** A client connected with sslmode=verify-full against the container's CA. */
  connect(database?: string): Promise<pg.Client> {
    return connectVerified(this, this.credentials(database));
  }

  /** Runs one statement over verified TLS and returns its rows. */
  sql<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
    return queryVerified<R>(this, this.credentials(), text, params);
  }

  async execOk(command: string[], user?: string): Promise<ExecOutput> {
    const r = await this.exec(command, user ? { user } : undefined);
    if (r.exitCode !== 0) throw new Error(`${command.join(" ")} exited ${r.exitCode}: ${r.output.slice(-2000)}`);
    return r;
  }

  /** `postgres-ba status --json`: its exit code (0 ok, 2 a problem) and the parsed report. */
  async statusJson<T = Record<string, unknown>>(): Promise<{ exitCode: number; json: T }> {
    const r = await this.exec(["postgres-ba", "status", "--json"]);
    // output is stdout and stderr together: a warning line may come before or after the report.
    return { exitCode: r.exitCode, json: JSON.parse(r.output.slice(r.output.indexOf("{"), r.output.lastIndexOf("}") + 1)) as T };
  }

  /** pgBackRest for this container's stanza, through the image's own command. */
  pgbackrest(args: string[]): Promise<ExecOutput> {
    return this.exec(["postgres-ba", "pgbackrest", ...args]);
  }

  /**
   * The stanza as `pgbackrest info --output=json` reports it. A repository it could not read is
   * stanza status 99 ("other") with exit code 0 and no backups: retried every 2 s (a busy test S3
   * server can stall a request), for up to 30 s while the reason is a failed name lookup (Podman's
   * DNS here has said "not found" for a connected server for several seconds), else 4 times; then
   * an error naming pgBackRest's reason, never an empty list that reads as "no backups".
   */
  async stanzaInfo(): Promise<StanzaInfo | undefined> {
    let problem = "";
    const lookupDeadline = Date.now() + 30_000;
    const worthAnotherTry = (attempt: number) => attempt <= 4 || (/unable to get address/.test(problem) && Date.now() < lookupDeadline);
    for (let attempt = 1; worthAnotherTry(attempt); attempt++) {
      const r = await this.exec(["postgres-ba", "info", "--json"]);
      if (r.exitCode === 0) {
        const stanza = (parseInfoJson(r.output) as Array<StanzaInfo & { repo?: Array<{ status: { message: string } }> }>).find((s) => s.name === this.stanza);
        if (stanza?.status.code !== 99) return stanza;
        problem = `stanza status 99: ${stanza.repo?.map((x) => x.status.message).join("; ") || stanza.status.message}`;
      } else {
        problem = `postgres-ba info --json exited ${r.exitCode}: ${r.output.slice(-1000)}`;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    throw new Error(`the repository could not be read: ${problem}`);
  }

  async backups(): Promise<BackupInfo[]> {
    return (await this.stanzaInfo())?.backup ?? [];
  }

  /** Waits until at least `count` backups of `type` are listed. */
  waitForBackups(type: BackupInfo["type"], count = 1, timeoutMs = 120_000): Promise<BackupInfo[]> {
    return pollUntil(
      `${count} ${type} backup(s) in ${this.stanza}`,
      async () => {
        const found = (await this.backups()).filter((b) => b.type === type);
        return found.length >= count ? found : undefined;
      },
      { timeoutMs, intervalMs: 2000 },
    );
  }

  /** Switches to a new WAL segment and waits until the finished one is archived (pg_stat_archiver). */
  async archiveCurrentWal(timeoutMs = 60_000): Promise<string> {
    // pg_switch_wal() does nothing on an empty segment (right after a backup, say), and that
    // segment would then never be archived: write a record into it first.
    await this.sql("SELECT pg_logical_emit_message(false, 'postgres-ba-test', 'switch')");
    const [{ segment }] = await this.sql<{ segment: string }>("SELECT pg_walfile_name(pg_current_wal_lsn()) AS segment");
    await this.sql("SELECT pg_switch_wal()");
    await pollUntil(
      `WAL segment ${segment} archived`,
      async () => {
        const [row] = await this.sql<{ last: string | null }>("SELECT last_archived_wal AS last FROM pg_stat_archiver");
        return row.last !== null && row.last.slice(0, 24) >= segment;
      },
      { timeoutMs },
    );
    return segment;
  }

  /** Finished WAL segments waiting in pg_wal for archive_command (archive_status/*.ready). */
  async walWaiting(): Promise<number> {
    return Number((await this.execOk(["sh", "-c", 'ls "$PGDATA/pg_wal/archive_status" | grep -c "\\.ready$" || true'])).output.trim());
  }

  /** The current WAL position (write it to compare with a replica's replay position). */
  async walLsn(): Promise<string> {
    return (await this.sql<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn"))[0].lsn;
  }

  /** Connected replicas as the primary sees them. */
  replicationStatus(): Promise<ReplicationStatus[]> {
    return this.sql<ReplicationStatus>(`
      SELECT r.application_name, r.state, r.sync_state, s.slot_name, coalesce(t.ssl, false) AS ssl, t.version AS ssl_version,
             pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::text AS replay_lag_bytes,
             extract(epoch FROM r.replay_lag)::float8 AS replay_lag_seconds
        FROM pg_stat_replication r
        LEFT JOIN pg_stat_ssl t ON t.pid = r.pid
        LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
       ORDER BY r.application_name`);
  }

  /** Waits until `count` replicas stream from this primary. */
  waitForReplicas(count = 1, timeoutMs = 120_000): Promise<ReplicationStatus[]> {
    return pollUntil(
      `${count} streaming replica(s)`,
      async () => {
        const rows = (await this.replicationStatus()).filter((r) => r.state === "streaming");
        return rows.length >= count ? rows : undefined;
      },
      { timeoutMs },
    );
  }

  /** Waits until the first backup of a new database is taken and the schedule runs. */
  waitForBackupsActive(timeoutMs = 120_000): Promise<string> {
    return this.waitForLog(/\[postgres-ba\] schedule: started/, timeoutMs);
  }

  /**
   * Everything the container printed so far (stdout and stderr), across restarts, as text.
   * (The inherited logs() is testcontainers' live stream.)
   */
  async logText(): Promise<string> {
    return containerLogText(this.getId());
  }

  /** Waits until the log matches, e.g. the schedule's start line. */
  waitForLog(pattern: RegExp, timeoutMs = 120_000): Promise<string> {
    return pollUntil(
      `log line ${pattern}`,
      async () => {
        const logs = await this.logText();
        return pattern.test(logs) ? logs : undefined;
      },
      { timeoutMs, intervalMs: 500 },
    );
  }

  /** Restarts the container (data volume kept) and waits until it accepts TLS connections again. */
  override async restart(): Promise<void> {
    await super.restart();
    await pollUntil("server accepting connections after restart", async () => (await this.sql("SELECT 1 AS ok"))[0]?.ok === 1, { timeoutMs: 120_000 });
  }

  /**
   * SIGKILL to the whole container (a crash: no shutdown, no cleanup), then the same container,
   * with the same settings, starts again; waits until it accepts TLS connections.
   */
  async crashRestart(): Promise<void> {
    const { cli } = await containerEngine();
    await $({ quiet: true })`${cli} kill --signal KILL ${this.getId()}`;
    await pollUntil(
      "container stopped after SIGKILL",
      async () => (await $({ quiet: true })`${cli} inspect --format {{.State.Status}} ${this.getId()}`).stdout.trim() !== "running",
      { timeoutMs: 30_000 },
    );
    await this.restart();
  }

  /** PostgreSQL's timeline (a restore or a promotion starts a new one). */
  async timeline(): Promise<number> {
    return (await this.sql<{ tli: number }>("SELECT timeline_id AS tli FROM pg_control_checkpoint()"))[0].tli;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop({ removeVolumes: true });
  }
}
