/**
 * HA_MODE=patroni with RESTORE_FROM_BACKUP: a new Patroni cluster bootstrapped from the backup
 * of a single server (the way from one server to a cluster, or a cluster rebuilt after losing
 * every member). The first member restores the stanza's backup to a point in time between two
 * batches of rows; Patroni starts that server, which replays to the target and promotes itself
 * onto a new timeline; the new leader backs up there; the second member is cloned and streams.
 */
import { describe, expect, onTestFailed } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { HaClusterContainer, haCredentials, haImage, noSchedule, OneShotContainer, pollUntil, type StartedHaCluster } from "../harness/index.js";

describe("@ha-restore a new Patroni cluster bootstraps from a backup, to a point in time #ha-bootstrap-restore", () => {
  let cluster: StartedHaCluster | undefined;

  it.afterAll(async () => {
    await cluster?.stop();
  });

  it("the leader holds exactly the rows before the target on a new timeline, backs up there, and its replica streams them #ha-clone-after-promotion", async ({
    bed,
  }) => {
    const bucket = await bed.s3.createBucket("ha-restore");
    const original = await bed
      .primary(bucket)
      .withUsername(haCredentials.user)
      .withPassword(haCredentials.password)
      .withDatabase(haCredentials.database)
      .withSchedule(noSchedule)
      .start();
    await original.waitForBackupsActive();
    const firstBackup = (await original.backups())[0].label;
    await original.sql("CREATE TABLE events (id int PRIMARY KEY, batch int NOT NULL)");
    await original.sql("INSERT INTO events SELECT g, 1 FROM generate_series(1, 100) g");
    const [{ at }] = await original.sql<{ at: string }>("SELECT clock_timestamp()::text AS at");
    // Batch 2 commits after the target.
    await original.sql("SELECT pg_sleep(1.1)");
    await original.sql("INSERT INTO events SELECT g, 2 FROM generate_series(101, 200) g");
    await original.archiveCurrentWal();
    // The single server is retired before the cluster takes over its stanza.
    await original.stop({ removeVolumes: true });

    // The window after a promotion, made wide: the new timeline's history file leaves the archive
    // as soon as the leader pushes it. The second member, started while the first promotes, most
    // likely restores the single server's backup (timeline 1, older than the fork): without the
    // leader's history it would replay timeline 1's archived WAL past the fork (batch 2) and
    // never stream. It must follow the leader all the same.
    const archived = (key: string) => key.includes("/archive/") && key.endsWith("/00000002.history");
    const historyRemoved = pollUntil(
      "timeline 2's history in the archive",
      async () => {
        const keys = (await bed.s3.listObjects(bucket.name)).filter(archived);
        if (keys.length) await bed.s3.deleteObjects(bucket.name, keys);
        return keys.length > 0;
      },
      { timeoutMs: 240_000, intervalMs: 100 },
    );
    // Awaited once the cluster runs; a start that fails first must not leave it unhandled.
    historyRemoved.catch(() => undefined);
    cluster = await new HaClusterContainer(bed)
      .withBucket(bucket)
      .withMembers(2)
      .withEnvironment({ RESTORE_FROM_BACKUP: "true", RESTORE_TARGET_TIME: at })
      .start();
    const started = cluster;
    onTestFailed(async () => console.log(`[ha-restore] the members said:\n${await started.logs()}`));
    await historyRemoved;
    const leader = await cluster.leader();
    const rows = await leader.sql<{ batch: number; n: number }>("SELECT batch, count(*)::int AS n FROM events GROUP BY batch ORDER BY batch");
    expect(rows).toEqual([{ batch: 1, n: 100 }]);
    const timeline = (await leader.sql<{ tli: string }>("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli"))[0].tli;
    expect(timeline).toBe("00000002");
    expect(await leader.logText()).toMatch(/\[postgres-ba\] restore-from-backup: restored: /);

    const backup = await pollUntil(
      "a full backup on the new timeline",
      async () => (await leader.backups()).find((b) => b.type === "full" && b.archive.start.startsWith(timeline)),
      { timeoutMs: 120_000 },
    );
    expect(backup.timestamp.start).toBeGreaterThan(0);
    // Leading, the bootstrap is finished: nothing marks it unfinished for a restart to refuse.
    expect((await leader.exec(["test", "-e", "/var/lib/postgresql/18/.postgres-ba/docker.restore-in-progress"])).exitCode).toBe(1);

    const replica = cluster.members.find((m) => m !== leader);
    if (!replica) throw new Error("no second member");
    await leader.sql("INSERT INTO events VALUES (1000, 3)");
    await pollUntil("the row written on the leader on the replica", async () => {
      const [{ n }] = await replica.sql<{ n: number }>("SELECT count(*)::int AS n FROM events");
      return n === 101;
    });
    expect((await replica.sql<{ r: boolean }>("SELECT pg_is_in_recovery() AS r"))[0].r).toBe(true);
    expect((await replica.sql<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE batch = 2"))[0].n).toBe(0);
    // Which backup it was cloned from (the single server's on timeline 1 is the case that matters).
    const cloned = (await replica.logText()).match(/ha-create-replica: (restored \S+; following \S+ on timeline \d+)/)?.[1];
    if (cloned) expect(cloned).toMatch(/ on timeline 2$/);
    console.log(`[ha-restore] second member: ${cloned ?? "cloned by pg_basebackup"}; first backup ${firstBackup}`);
  });

  it("a member that joins while S3 is unreachable still joins: its repository method gives way, Patroni copies the leader #ha-clone-fallback", async ({
    bed,
  }) => {
    if (!cluster) throw new Error("no cluster: the first test failed");
    const started = cluster;
    onTestFailed(async () => console.log(`[ha-restore] the members said:\n${await started.logs()}`));
    await bed.s3.isolate();
    try {
      const third = await cluster.memberContainer("member3").start();
      cluster.members.push(third);
      await pollUntil(
        "the leader's rows on the third member",
        async () => (await third.sql<{ n: number }>("SELECT count(*)::int AS n FROM events"))[0].n === 101,
      );
      const log = await third.logText();
      expect(log).toMatch(/\[postgres-ba\] ha-create-replica: ERROR: the repository cannot be read: .*; Patroni tries its next method/);
      expect(log).toMatch(/replica has been created using basebackup/);
    } finally {
      await bed.s3.reconnect();
    }
  });

  it("a member whose bootstrap from a backup did not end in a leader is not started again, and says how to start over", async () => {
    const result = await new OneShotContainer(await haImage())
      .withEnvironment({ HA_MODE: "patroni", HA_ETCD_HOSTS: "etcd:2379", POSTGRES_PASSWORD: "pw", REPLICATION_PASSWORD: "rp", SERVER_NAME: "member1" })
      // The marker beside PGDATA: written before pgBackRest starts, kept through recovery, removed once the member leads.
      .withFile("/var/lib/postgresql/18/.postgres-ba/docker.restore-in-progress", '{"startedAt":"2026-12-01T00:00:00Z"}\n')
      .run();
    expect(result.exitCode, result.output).toBe(73);
    expect(result.output).toMatch(
      /docker\.restore-in-progress is there: this member's bootstrap of the cluster from a backup did not end in a leader .*Fix: empty this volume \(or delete its claim\) and clear the cluster's half-made state in the store \(from any member: patronictl -c \/etc\/patroni\/patroni.yml remove postgres\)/,
    );
    expect(result.output).not.toMatch(/Starting Patroni|patroni\.yml written/);
  });
});
