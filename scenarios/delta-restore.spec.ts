import { randomBytes } from "node:crypto";
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { OneShotContainer, removeVolume, type BucketConfig, noSchedule, type StartedBackupTestbed } from "../harness/index.js";

describe("@delta-restore a damaged data directory is repaired in place, and only on explicit request", () => {
  let bucket: BucketConfig;
  let image: string;
  let tableFile: string;
  let timelineBefore: number;
  const volume = `delta-${randomBytes(4).toString("hex")}`;
  const creds = { user: "app", password: "delta-pw", database: "app" };
  const primary = (bed: StartedBackupTestbed) =>
    bed.primary(bucket).withDataVolume(volume).withUsername(creds.user).withPassword(creds.password).withDatabase(creds.database).withSchedule(noSchedule);

  it.beforeAll(async ({ bed }) => {
    image = bed.image;
    bucket = await bed.s3.createBucket("delta");
    const db = await primary(bed).start();
    await db.waitForBackupsActive();
    await db.sql("CREATE TABLE orders (id int PRIMARY KEY, note text)");
    await db.sql("INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 2000) g");
    [{ path: tableFile }] = await db.sql<{ path: string }>("SELECT pg_relation_filepath('orders') AS path");
    await db.sql("CREATE TABLE late (id int PRIMARY KEY)");
    await db.archiveCurrentWal();
    timelineBefore = await db.timeline();
    // Committed after the last archived WAL, then a fast stop: only this data directory has these
    // rows (a restore from the repository would not bring them back).
    await db.sql("INSERT INTO late SELECT generate_series(1, 25)");
    const [archived] = await db.sql<{ yes: boolean }>(
      "SELECT coalesce(last_archived_wal >= pg_walfile_name(pg_current_wal_lsn()), false) AS yes FROM pg_stat_archiver",
    );
    expect(archived.yes, "the late rows' WAL segment must not be archived yet").toBe(false);
    await db.stop();
  });

  it.afterAll(async () => {
    await removeVolume(volume);
  });

  it("never overwrites a valid data directory, even with RESTORE_FROM_BACKUP=true #never-overwrites", async ({ bed }) => {
    await using db = await primary(bed).withRestore().start();
    expect(await db.logText()).toContain(
      "restore-from-backup: skipped: PGDATA already holds a database, which is never overwritten; set RESTORE_DELTA=true to repair it with a delta restore",
    );
    expect(await db.sql("SELECT count(*)::int AS n FROM orders")).toEqual([{ n: 2000 }]);
    // A restore (even a delta one) would end recovery on a new timeline and lose the late rows,
    // which were never archived: the same timeline and every late row prove PGDATA was started as it was.
    expect(timelineBefore).toBe(1);
    expect(await db.timeline()).toBe(timelineBefore);
    expect(await db.sql("SELECT count(*)::int AS n, max(id) AS last FROM late")).toEqual([{ n: 25, last: 25 }]);
  });

  it("repairs a damaged PGDATA with a delta restore when RESTORE_DELTA=true #delta-repair", async ({ bed }) => {
    // Damage: the table's file is gone and pg_control is garbage.
    const damage = await new OneShotContainer(image)
      .withVolume(volume, "/var/lib/postgresql")
      .withCommand(["sh", "-c", `rm "$PGDATA/${tableFile}" && head -c 8192 /dev/urandom > "$PGDATA/global/pg_control" && echo damaged`])
      .run();
    expect(damage.output).toContain("damaged");
    // Proof of the damage: the server no longer starts on it.
    const broken = await new OneShotContainer(image).withVolume(volume, "/var/lib/postgresql").withEnvironment({ POSTGRES_PASSWORD: "unused" }).run();
    expect(broken.exitCode).not.toBe(0);
    expect(broken.output).toMatch(/control file|pg_control/i);

    await using repaired = await primary(bed).withRestore().withEnvironment({ RESTORE_DELTA: "true" }).start();
    expect(await repaired.sql("SELECT count(*)::int AS n, max(note) FILTER (WHERE id = 2000) AS last FROM orders")).toEqual([{ n: 2000, last: "order 2000" }]);
    expect(await repaired.logText()).toMatch(/restore-from-backup: delta restore over the existing PGDATA: backup \d{8}-\d{6}F/);
  });
});
