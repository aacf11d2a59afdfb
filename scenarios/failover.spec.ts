import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import {
  ClusterContainer,
  OneShotContainer,
  RestoredCloneContainer,
  caDir,
  copyVolume,
  pollUntil,
  removeVolume,
  type BackupInfo,
  type StartedCluster,
  type StartedReplicaContainer,
} from "../harness/index.js";

// One cluster for both capabilities: the failover, then the old primary coming back.
let cluster: StartedCluster;
let promoted: StartedReplicaContainer;
let promoteOutput: string;
/** The repository as it was the moment `postgres-ba promote` returned: archive keys and backups. */
let archiveAtPromote: string[];
let backupsAtPromote: BackupInfo[];

it.beforeAll(async ({ bed }) => {
  cluster = await new ClusterContainer(bed).withReplicas(1).start();
  promoted = cluster.replicas[0];
  await promoted.waitForStreaming();
  await cluster.primary.sql("CREATE TABLE ledger (id int PRIMARY KEY, note text)");
  await cluster.primary.sql("INSERT INTO ledger SELECT g, 'before failover' FROM generate_series(1, 100) g");
  await promoted.waitForReplay(await cluster.primary.walLsn());
  // Replication breaks (the replica can no longer log in), the primary commits a little more that
  // the replica never receives, then its host dies: killed, no clean shutdown; the volume survives.
  await cluster.primary.sql("ALTER ROLE replicator NOLOGIN");
  await cluster.primary.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_replication");
  await pollUntil("walsender gone", async () => (await cluster.primary.replicationStatus()).length === 0);
  await cluster.primary.sql("INSERT INTO ledger SELECT g, 'lost with the old primary' FROM generate_series(1001, 1010) g");
  await cluster.primary.stop();
  promoteOutput = (await promoted.promote()).output;
  // Nothing else may happen first: what the command claims must already be in the repository.
  [archiveAtPromote, backupsAtPromote] = await Promise.all([bed.s3.listObjects(cluster.bucket.name, "pgbackrest/archive/main/"), promoted.backups()]);
  await promoted.sql("INSERT INTO ledger SELECT g, 'after failover' FROM generate_series(101, 150) g");
});

it.afterAll(async () => {
  await cluster?.stop();
  await removeVolume(`${cluster?.primaryVolume}-copy`);
});

describe("@failover postgres-ba promote makes a replica the primary, and backups resume on the new timeline", () => {
  it("promotes with one command that returns after the stanza check and a full backup #promote", () => {
    expect(promoteOutput).toMatch(/promoted in [\d.]+ s: writable primary on timeline 2/);
    expect(promoteOutput).toMatch(
      /promoted to a primary on timeline 2: role replicator ready .*; stanza main accepts timeline 2 \(pgbackrest check archived its WAL\), full backup \d{8}-\d{6}F taken/,
    );
    // Not just its words: when it returned, the repository already had timeline 2's history file
    // and the full backup it names, started on timeline 2.
    expect(archiveAtPromote).toContain("pgbackrest/archive/main/18-1/00000002.history");
    const label = promoteOutput.match(/full backup (\d{8}-\d{6}F) taken/)![1];
    const backup = backupsAtPromote.find((b) => b.label === label);
    expect(backup, `backup ${label} listed when promote returned`).toBeDefined();
    expect(backup!.type).toBe("full");
    expect(backup!.archive.start.slice(0, 8)).toBe("00000002");
  });

  it("accepts writes and kept every row replicated before the failover (not those it never received)", async () => {
    const [row] = await promoted.sql<{ before: string; after: string; lost: string; recovery: boolean }>(
      "SELECT count(*) FILTER (WHERE note = 'before failover') AS before, count(*) FILTER (WHERE note = 'after failover') AS after, count(*) FILTER (WHERE note LIKE 'lost%') AS lost, pg_is_in_recovery() AS recovery FROM ledger",
    );
    expect(row).toEqual({ before: "100", after: "50", lost: "0", recovery: false });
  });

  it("lists a full backup taken on the new timeline in the same stanza", async () => {
    const backups = await promoted.backups();
    expect(backups.map((b) => b.type)).toEqual(["full", "full"]);
    expect(backups[0].archive.start.slice(0, 8)).toBe("00000001");
    expect(backups[1].archive.start.slice(0, 8)).toBe("00000002");
  });

  it("archives WAL of the new timeline", async ({ bed }) => {
    const segment = await promoted.archiveCurrentWal();
    expect(segment.slice(0, 8)).toBe("00000002");
    const keys = await pollUntil(`segment ${segment} in the bucket`, async () => {
      const k = await bed.s3.listObjects(cluster.bucket.name, "pgbackrest/archive/main/");
      return k.some((key) => key.includes(`/${segment}-`)) ? k : undefined;
    });
    expect(keys).toContain("pgbackrest/archive/main/18-1/00000002.history");
  });

  it("restores a clone from the new timeline with the rows written after promotion", async ({ bed }) => {
    await promoted.archiveCurrentWal();
    await using clone = await new RestoredCloneContainer(bed.image, promoted).withNetwork(bed.network).start();
    const [row] = await clone.sql<{ after: string; total: string }>(
      "SELECT count(*) FILTER (WHERE note = 'after failover') AS after, count(*) AS total FROM ledger",
    );
    expect(row).toEqual({ after: "50", total: "150" });
  });

  it("clones a new replica of the promoted primary from the repository, following timeline 2 #replica-from-backup-new-timeline", async () => {
    const replica = await cluster.replicaContainer("replica2", "replica1").withBackupBootstrap().start();
    try {
      await replica.waitForStreaming();
      expect(await replica.logText()).toMatch(
        /clone-replica: cloned from replica1:5432 \(system \d+, timeline 2\) by restoring backup \S+ from the repository/,
      );
      await replica.waitForReplay(await promoted.walLsn());
      const [row] = await replica.sql<{ after: string; lost: string }>(
        "SELECT count(*) FILTER (WHERE note = 'after failover') AS after, count(*) FILTER (WHERE note LIKE 'lost%') AS lost FROM ledger",
      );
      expect(row).toEqual({ after: "50", lost: "0" });
    } finally {
      await replica.stop({ removeVolumes: true });
      // Its slot would keep WAL on the primary for a replica that is gone.
      await promoted.sql("SELECT pg_drop_replication_slot('replica2')");
    }
  });

  it("stays the primary after a restart with PG_MODE=replica unchanged, and runs the schedule #promoted-stays-primary", async () => {
    await promoted.restart();
    await promoted.sql("INSERT INTO ledger VALUES (151, 'after restart')");
    const logs = await promoted.waitForLog(/schedule: started[\s\S]*schedule: started/);
    expect(logs).toMatch(
      /rejoin-as-replica: skipped: this data directory is a primary \(timeline 2\) and PRIMARY_HOST primary cannot be compared with it \(unreachable: .*\): it stays a primary/,
    );
    expect(logs).toMatch(/check-primary-role: primary on timeline 2; the repository's newest timeline for this cluster is 2/);
  });
});

describe("@rejoin the old primary comes back as a replica of the new one, never as a second primary", () => {
  let rejoined: StartedReplicaContainer;

  it("refuses to start the old primary as a primary: the repository holds a newer timeline #no-second-primary", async ({ bed }) => {
    const result = await new OneShotContainer(bed.image)
      .withNetwork(bed.network.getName())
      .withEnvironment({ ...cluster.bucket.env, PGBACKREST_STANZA: "main", SERVER_NAME: "primary" })
      .withFile(cluster.bucket.caFile.target, cluster.bucket.caFile.content)
      .withVolume(cluster.primaryVolume, "/var/lib/postgresql")
      .withVolume(cluster.caVolume, caDir)
      .run();
    expect(result.exitCode, result.output).toBe(73);
    const errors = result.output.split("\n").filter((l) => /ERROR/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /stanza main holds WAL of timeline 2 of this cluster, newer than this data directory's timeline 1: .* Fix: start this container with PG_MODE=replica and PRIMARY_HOST=<the new primary>/,
    );
  });

  it("falls back to a fresh clone when pg_rewind fails, keeping the old data aside #rejoin-reclone", async ({ bed }) => {
    // A second copy of the old primary's data, rejoined while pg_rewind is denied its functions.
    const copy = `${cluster.primaryVolume}-copy`;
    await copyVolume(bed.image, cluster.primaryVolume, copy);
    // In database postgres, where pg_rewind connects (function privileges are per database).
    const inPostgres = (statement: string) =>
      promoted.execOk(["psql", "-v", "ON_ERROR_STOP=1", "-h", "/var/run/postgresql", "-U", "app", "-d", "postgres", "-c", statement]);
    await inPostgres("REVOKE EXECUTE ON FUNCTION pg_ls_dir(text, boolean, boolean) FROM replicator");
    try {
      const old = await cluster.replicaContainer("old-copy", "replica1").withDataVolume(copy).start();
      cluster.replicas.push(old);
      await old.waitForStreaming();
      const logs = await old.logText();
      expect(logs).toMatch(
        /rejoin-as-replica: pg_rewind failed \(.*permission denied for function pg_ls_dir.*\); the old data was moved to \/var\/lib\/postgresql\/18\/\.postgres-ba\/docker\.before-rejoin-\S+ \(delete it when no longer needed\) and clone-replica makes a fresh clone/,
      );
      expect(logs).toMatch(/clone-replica: cloned from replica1:5432 \(system \d+, timeline 2\) by pg_basebackup/);
      const aside = await old.execOk(["sh", "-c", "cat /var/lib/postgresql/18/.postgres-ba/docker.before-rejoin-*/PG_VERSION"]);
      expect(aside.output.trim()).toBe("18");
      await old.waitForReplay(await promoted.walLsn());
      expect((await old.sql<{ n: string }>("SELECT count(*) AS n FROM ledger WHERE note = 'after failover'"))[0].n).toBe("50");
    } finally {
      await inPostgres("GRANT EXECUTE ON FUNCTION pg_ls_dir(text, boolean, boolean) TO replicator");
    }
  });

  it("rewinds the old primary with pg_rewind and streams from the new primary #rejoin-rewind", async () => {
    const old = await cluster.replicaContainer("primary", "replica1").withDataVolume(cluster.primaryVolume).start();
    cluster.replicas.push(old);
    rejoined = old;
    await old.waitForStreaming();
    expect(await old.logText()).toMatch(
      /rejoin-as-replica: old primary \(timeline 1\) rewound with pg_rewind, to follow replica1 \(timeline 2\); it streams through slot primary/,
    );
    await promoted.sql("INSERT INTO ledger VALUES (152, 'after rejoin')");
    await old.waitForReplay(await promoted.walLsn());
    // Its own last commits, which never reached the new primary, were rewound away.
    const [row] = await old.sql<{ total: string; after: string; lost: string; recovery: boolean }>(
      "SELECT count(*) AS total, count(*) FILTER (WHERE note LIKE 'after%') AS after, count(*) FILTER (WHERE note LIKE 'lost%') AS lost, pg_is_in_recovery() AS recovery FROM ledger",
    );
    expect(row).toEqual({ total: "152", after: "52", lost: "0", recovery: true });
    const status = (await promoted.replicationStatus()).find((r) => r.application_name === "primary");
    expect(status).toMatchObject({ application_name: "primary", state: "streaming", slot_name: "primary", ssl: true });
  });

  it("refuses the rejoined standby's data under PG_MODE=primary, touching nothing #standby-as-primary-refused", async ({ bed }) => {
    // The rewound old primary, stopped: its volume now holds a standby's data.
    await rejoined.stop();
    const pgdata = "/var/lib/postgresql/18/docker";
    const digest = (container: OneShotContainer) => container.withVolume(cluster.primaryVolume, "/var/lib/postgresql").withDigest(pgdata);
    const before = (await digest(new OneShotContainer(bed.image).withEntrypoint("true")).run()).digests[pgdata];
    expect(before, "the standby's data directory").not.toBeNull();
    const result = await digest(
      new OneShotContainer(bed.image)
        .withNetwork(bed.network.getName())
        .withEnvironment({ ...cluster.bucket.env, PGBACKREST_STANZA: "main", SERVER_NAME: "primary", PG_MODE: "primary" })
        .withFile(cluster.bucket.caFile.target, cluster.bucket.caFile.content)
        .withVolume(cluster.caVolume, caDir),
    ).run();
    expect(result.exitCode, result.output).toBe(73);
    const errors = result.output.split("\n").filter((l) => /ERROR/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/holds a standby \(standby\.signal\) but PG_MODE=primary; a standby becomes a primary only by promotion.* Fix: /);
    expect(result.digests[pgdata]).toEqual(before);
  });
});

describe("@failover a promotion while S3 is unreachable: the new timeline's full backup follows S3's return", () => {
  it("promote says the check failed and exits non-zero; once S3 answers, a full backup on timeline 2 is taken without a schedule #promote-backup-retried", async ({
    bed,
  }) => {
    // pgbackrest check waits archive-timeout (60 s by default) for WAL that cannot be archived.
    const outage = await new ClusterContainer(bed).withReplicas(1).withEnvironment({ PGBACKREST_ARCHIVE_TIMEOUT: "10" }).start();
    try {
      const replica = outage.replicas[0];
      await replica.waitForStreaming();
      await outage.primary.stop();
      // S3 goes the moment the server is writable: the promotion itself reads the archive (its
      // restore_command), which an unreachable S3 can slow past the command's wait.
      const promoting = replica.exec(["postgres-ba", "promote"]);
      await pollUntil("the promoted server writable", async () => (await replica.sql<{ r: boolean }>("SELECT pg_is_in_recovery() AS r"))[0].r === false, {
        intervalMs: 100,
      });
      await bed.s3.isolate();
      try {
        const promoted = await promoting;
        expect(promoted.exitCode, promoted.output).not.toBe(0);
        expect(promoted.output).toMatch(/promoted to a primary on timeline 2: .*FAILED: .*; the full backup is retried until it is taken/);
      } finally {
        await bed.s3.reconnect();
      }
      const full = await pollUntil(
        "a full backup on timeline 2",
        async () => (await replica.backups()).find((b) => b.type === "full" && b.archive.start.startsWith("00000002")),
        { timeoutMs: 120_000, intervalMs: 2000 },
      );
      // pgBackRest lists the backup a moment before the runtime logs it.
      await replica.waitForLog(new RegExp(`bootstrap-backups: full backup ${full.label} taken on timeline 2, the one the promotion could not take`), 30_000);
    } finally {
      await outage.stop();
    }
  });
});
