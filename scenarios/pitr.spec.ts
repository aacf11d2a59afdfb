import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import {
  OneShotContainer,
  RestoredCloneContainer,
  type RestoreTarget,
  type StartedPrimaryContainer,
  noSchedule,
  type StartedBackupTestbed,
} from "../harness/index.js";

describe("@pitr point-in-time restores stop exactly between two batches of rows #pitr-targets", () => {
  let image: string;
  let original: StartedPrimaryContainer;
  const targets: Record<string, RestoreTarget> = {};
  let backupsBefore: string[];
  /** The full backup taken before batch 1; a second full, taken after batch 2, is the newest. */
  let firstFull: string;

  it.beforeAll(async ({ bed }) => {
    image = bed.image;
    original = await bed
      .primary(await bed.s3.createBucket("pitr"))
      // No backups of its own during the test, so any new backup would be a clone's.
      .withSchedule(noSchedule)
      .start();
    await original.waitForBackupsActive();
    await original.sql("CREATE TABLE events (id int PRIMARY KEY, batch int NOT NULL)");
    await original.sql("INSERT INTO events SELECT g, 1 FROM generate_series(1, 100) g");
    // The three kinds of target, all taken after batch 1 committed and before batch 2 began.
    const [after1] = await original.sql<{ at: string; lsn: string }>("SELECT clock_timestamp()::text AS at, pg_current_wal_lsn()::text AS lsn");
    await original.sql("SELECT pg_create_restore_point('after-batch-1')");
    targets.time = { time: after1.at };
    targets["restore point"] = { name: "after-batch-1" };
    targets.lsn = { lsn: after1.lsn };
    // A transaction of its own, committed after batch 1: recovery stops right after it.
    const [{ xid }] = await original.sql<{ xid: string }>("SELECT txid_current()::text AS xid");
    targets.xid = { xid };
    // Commit timestamps of batch 2 must be later than the time target.
    await original.sql("SELECT pg_sleep(1.1)");
    await original.sql("INSERT INTO events SELECT g, 2 FROM generate_series(101, 200) g");
    await original.archiveCurrentWal();
    firstFull = (await original.backups())[0].label;
    // A second full after batch 2: pgBackRest alone would restore it for any target, and could
    // never go back before its end. The image must choose the first full for time and LSN targets.
    const second = await original.exec(["postgres-ba", "backup", "full"]);
    expect(second.exitCode, second.output).toBe(0);
    backupsBefore = (await original.backups()).map((b) => b.label);
    expect(backupsBefore).toHaveLength(2);
    // Targets the image cannot choose a backup for name the first full themselves (RESTORE_SET).
    targets["restore point"].set = firstFull;
    targets.xid.set = firstFull;
  });

  it.afterAll(async () => {
    await original?.stop({ removeVolumes: true });
  });

  it.for(["time", "restore point", "lsn", "xid"])(
    "restores to a %s: exactly the first batch, from the full backup before the target, and the clone is writable #pitr-newest-before-target #restore-set",
    async (kind, { bed }) => {
      await using clone = await new RestoredCloneContainer(image, original).withNetwork(bed.network).withTarget(targets[kind]).start();
      const [row] = await clone.sql<{ n: string; batches: string }>("SELECT count(*) AS n, string_agg(DISTINCT batch::text, ',') AS batches FROM events");
      expect(row).toEqual({ n: "100", batches: "1" });
      await clone.sql("INSERT INTO events VALUES (1000, 3)");
      const logs = await clone.waitForLog(/\[postgres-ba\] server: /);
      expect(logs).toMatch(new RegExp(`restore-from-backup: restored: backup ${firstFull} .*, then promote`));
      expect(logs.match(/\[postgres-ba\] server: .*/)?.[0]).toBe("[postgres-ba] server: accepting connections as a writable primary on timeline 2");
      // PostgreSQL's own account of where recovery stopped.
      expect(logs).toMatch(/LOG: {2}recovery stopping (before|after|at) /);
    },
  );

  it("RESTORE_TARGET_IMMEDIATE stops as soon as the backup is consistent: the first full's state, before the table existed #pitr-immediate", async ({
    bed,
  }) => {
    await using clone = await new RestoredCloneContainer(image, original).withNetwork(bed.network).withTarget({ immediate: true, set: firstFull }).start();
    expect(await clone.sql("SELECT to_regclass('events')::text AS events")).toEqual([{ events: null }]);
    expect(await clone.timeline()).toBe(2);
  });

  it("RESTORE_TARGET_ACTION=pause leaves a read-only server paused at the target #pitr-pause", async ({ bed }) => {
    await using clone = await new RestoredCloneContainer(image, original)
      .withNetwork(bed.network)
      .withTarget({ ...targets.time, action: "pause" })
      .start();
    const state = await clone.sql<{ recovery: boolean; pause: string; n: string }>(
      "SELECT pg_is_in_recovery() AS recovery, pg_get_wal_replay_pause_state() AS pause, (SELECT count(*) FROM events)::text AS n",
    );
    expect(state).toEqual([{ recovery: true, pause: "paused", n: "100" }]);
  });

  /** A clone run to its end (targets that stop the server): exit code and log. */
  const cloneToExit = (bed: StartedBackupTestbed, target: Record<string, string>) =>
    new OneShotContainer(image)
      .withNetwork(bed.network.getName())
      .withEnvironment({ ...original.bucket!.env, PGBACKREST_STANZA: original.stanza!, REPO_READ_ONLY: "true", RESTORE_FROM_BACKUP: "true", ...target })
      .withFile(original.bucket!.caFile.target, original.bucket!.caFile.content)
      .run(180_000);

  it("RESTORE_TARGET_ACTION=shutdown stops the server at the target #pitr-shutdown", async ({ bed }) => {
    const r = await cloneToExit(bed, { RESTORE_TARGET_TIME: targets.time.time!, RESTORE_TARGET_ACTION: "shutdown" });
    expect(r.output).toMatch(/LOG: {2}recovery stopping before commit of transaction/);
    expect(r.output).not.toMatch(/\[postgres-ba\] server: accepting connections/);
  });

  it("a target after the last archived commit cannot be proven reached: the container exits and says so #pitr-past-last-commit", async ({ bed }) => {
    const r = await cloneToExit(bed, { RESTORE_TARGET_TIME: new Date(Date.now() - 2000).toISOString().replace("T", " ").replace("Z", "+00") });
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/recovery ended before configured recovery target was reached/);
  });

  it("leaves the original's stanza alone: clones archive no WAL and take no backup #clone-read-only", async ({ bed }) => {
    // Promoted clones run on timeline 2; the original stays on timeline 1.
    const keys = await bed.s3.listObjects(original.bucket!.name);
    expect(
      keys.some((k) => /\/00000001/.test(k)),
      "the original's timeline 1 WAL is listed",
    ).toBe(true);
    expect(keys.filter((k) => /\/00000002/.test(k))).toEqual([]);
    expect((await original.backups()).map((b) => b.label)).toEqual(backupsBefore);
    const [row] = await original.sql<{ n: string }>("SELECT count(*) AS n FROM events");
    expect(row.n).toBe("200");
  });
});
