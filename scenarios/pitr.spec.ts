import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RestoredCloneContainer, type RestoreTarget, type StartedPrimaryContainer, BackupTestbed, type StartedBackupTestbed } from "../harness/index.js";

describe("@pitr point-in-time restores stop exactly between two batches of rows", () => {
  let bed: StartedBackupTestbed;
  let image: string;
  let original: StartedPrimaryContainer;
  const targets: Record<string, RestoreTarget> = {};
  let backupsBefore: string[];

  beforeAll(async () => {
    bed = await new BackupTestbed().start();
    image = bed.image;
    original = await bed.primary(await bed.s3.createBucket("pitr"))
      // No backups of its own during the test, so any new backup would be a clone's.
      .withSchedule({ full: "off", diff: "off", incr: "off" })
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
    // Commit timestamps of batch 2 must be later than the time target.
    await original.sql("SELECT pg_sleep(1.1)");
    await original.sql("INSERT INTO events SELECT g, 2 FROM generate_series(101, 200) g");
    await original.archiveCurrentWal();
    backupsBefore = (await original.backups()).map((b) => b.label);
  });

  afterAll(async () => {
    await original?.stop({ removeVolumes: true });
    await bed?.stop();
  });

  it.each(["time", "restore point", "lsn"])("restores to a %s: exactly the first batch, and the clone is writable", async (kind) => {
    await using clone = await new RestoredCloneContainer(image, original).withNetwork(bed.network).withTarget(targets[kind]).start();
    const [row] = await clone.sql<{ n: string; batches: string }>("SELECT count(*) AS n, string_agg(DISTINCT batch::text, ',') AS batches FROM events");
    expect(row).toEqual({ n: "100", batches: "1" });
    await clone.sql("INSERT INTO events VALUES (1000, 3)");
    const logs = await clone.waitForLog(/\[postgres-ba\] server: /);
    expect(logs).toMatch(/restore-from-backup: restored: backup \d{8}-\d{6}F .*, then promote/);
    expect(logs.match(/\[postgres-ba\] server: .*/)?.[0]).toBe("[postgres-ba] server: accepting connections as a writable primary on timeline 2");
    // PostgreSQL's own account of where recovery stopped.
    expect(logs).toMatch(/LOG: {2}recovery stopping (before|after|at) /);
  });

  it("leaves the original's stanza alone: clones archive no WAL and take no backup", async () => {
    // Promoted clones run on timeline 2; the original stays on timeline 1.
    const keys = await bed.s3.listObjects(original.bucket!.name);
    expect(keys.filter((k) => /\/00000002/.test(k))).toEqual([]);
    expect((await original.backups()).map((b) => b.label)).toEqual(backupsBefore);
    const [row] = await original.sql<{ n: string }>("SELECT count(*) AS n FROM events");
    expect(row.n).toBe("200");
  });
});
