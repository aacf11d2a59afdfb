import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { type BucketConfig, RestoredCloneContainer, type StartedPrimaryContainer, noSchedule } from "../harness/index.js";

interface StatusJson {
  state: string;
  repository: { reachable: boolean };
  problems: string[];
}

/**
 * A new database whose S3 is unreachable when it first starts (a typo'd network, S3 still
 * booting): PostgreSQL serves anyway, WAL is acknowledged without being kept (no restore could
 * use it, and pg_wal must not fill up), a restart during the outage is not refused, and the first
 * full backup follows S3's return by itself, without a restart or a scheduled tick.
 */
describe("@first-backup-outage S3 unreachable at first start: served, WAL not kept, the first backup follows S3's return #first-backup-retried #wal-before-first-backup #s3-down-only-warns", () => {
  let bucket: BucketConfig;
  let db: StartedPrimaryContainer;
  /** The segment finished while S3 was gone: acknowledged by archive_command, never stored. */
  let segmentDuringOutage = "";
  const status = async () => (await db.statusJson<StatusJson>()).json;

  it.beforeAll(async ({ bed }) => {
    bucket = await bed.s3.createBucket("first-outage");
    await bed.s3.isolate();
    // No schedule: only the first backup's own retries can take it.
    db = await bed.primary(bucket).withSchedule(noSchedule).start();
    await db.waitForLog(/bootstrap-backups: ERROR: failed \(attempt 1\)/);
  });

  it.afterAll(async () => {
    await db?.stop({ removeVolumes: true });
  });

  it("serves writes while the first backup cannot be taken, and acknowledges WAL without keeping it #wal-before-first-backup", async () => {
    const before = await status();
    expect(before).toMatchObject({ state: "pending", repository: { reachable: false } });
    await db.sql("CREATE TABLE early (id int PRIMARY KEY)");
    await db.sql("INSERT INTO early SELECT generate_series(1, 100)");
    expect(await db.sql("SHOW archive_command")).toEqual([{ archive_command: "/bin/true" }]);
    segmentDuringOutage = await db.archiveCurrentWal();
    expect(await db.walWaiting(), "segments waiting for the archive in pg_wal").toBe(0);
  });

  it("restarted during the outage, it starts as a primary and only warns about the repository #s3-down-only-warns", async () => {
    await db.restart();
    const log = await db.waitForLog(/check-primary-role: skipped: WARNING: repository not readable/);
    expect(log).not.toMatch(/two writable primaries/);
    expect(await db.sql("SELECT pg_is_in_recovery() AS standby, count(*)::int AS n FROM early")).toEqual([{ standby: false, n: 100 }]);
  });

  it("takes the first full backup once S3 is back, without a restart or a schedule #first-backup-retried", async ({ bed }) => {
    await bed.s3.reconnect();
    const [full] = await db.waitForBackups("full", 1, 240_000);
    expect(full.label).toMatch(/F$/);
    expect((await status()).state).toBe("active");
    const [{ archive_command }] = await db.sql<{ archive_command: string }>("SHOW archive_command");
    expect(archive_command).toMatch(/pgbackrest .*archive-push/);
    // The outage's segment never reached the bucket: it was acknowledged, not kept.
    const archived = await bed.s3.listObjects(bucket.name, "pgbackrest/archive/");
    expect(
      archived.some((k) => k.includes("/0000000100000000000000")),
      "WAL archived after the first backup",
    ).toBe(true);
    expect(archived.filter((k) => k.includes(`/${segmentDuringOutage}-`))).toEqual([]);
  });

  it("restores every row written before the first backup from it", async ({ bed }) => {
    await db.sql("INSERT INTO early SELECT generate_series(101, 150)");
    await db.archiveCurrentWal();
    await using clone = await new RestoredCloneContainer(bed.image, db).withNetwork(bed.network).start();
    expect(await clone.sql("SELECT count(*)::int AS n, max(id) AS last FROM early")).toEqual([{ n: 150, last: 150 }]);
  });
});
