import { randomBytes } from "node:crypto";
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { removeVolume, type BucketConfig, type StartedPrimaryContainer, noSchedule, type StartedBackupTestbed } from "../harness/index.js";

/**
 * Restore settings stay in compose files for weeks. A request acts once per data directory: a
 * crash-restart with RESTORE_FROM_BACKUP=true and RESTORE_DELTA=true still set must start the
 * data it has (same timeline, every committed row), and only a new request repairs again.
 */
describe("@restart-safety a restart is never a restore", () => {
  let bucket: BucketConfig;
  let db: StartedPrimaryContainer;
  const volume = `restart-safety-${randomBytes(4).toString("hex")}`;
  const creds = { user: "app", password: "restart-safety-pw", database: "app" };
  /** The same user, database and no schedule for every container of this test (only backups it asks for). */
  const primary = (bed: StartedBackupTestbed) =>
    bed.primary(bucket).withUsername(creds.user).withPassword(creds.password).withDatabase(creds.database).withSchedule(noSchedule);
  /** The repair everybody leaves configured, on the one data volume. */
  const repair = (bed: StartedBackupTestbed, env: Record<string, string> = {}) =>
    primary(bed)
      .withDataVolume(volume)
      .withRestore()
      .withEnvironment({ RESTORE_DELTA: "true", ...env });
  const rowsAfter = async () => (await db.sql<{ n: number }>("SELECT count(*)::int AS n FROM orders"))[0].n;

  it.beforeAll(async ({ bed }) => {
    bucket = await bed.s3.createBucket("restart-safety");
    const original = await primary(bed).start();
    await original.waitForBackupsActive();
    await original.sql("CREATE TABLE orders (id int PRIMARY KEY)");
    await original.sql("INSERT INTO orders SELECT generate_series(1, 100)");
    await original.archiveCurrentWal();
    await original.stop({ removeVolumes: true });

    db = await repair(bed).start();
  });

  it.afterAll(async () => {
    await db?.stop();
    await removeVolume(volume);
  });

  it("restores once: timeline 2 with the 100 archived rows, and records the request it applied", async () => {
    expect(await db.timeline()).toBe(2);
    expect(await rowsAfter()).toBe(100);
    const record = JSON.parse((await db.execOk(["cat", "/var/lib/postgresql/18/.postgres-ba/docker.restore-applied.json"])).output);
    expect(record.request).toMatchObject({ RESTORE_FROM_BACKUP: true, RESTORE_DELTA: true });
    expect(record.set).toMatch(/^\d{8}-\d{6}F$/);
  });

  it("replays WAL with TCP closed: PostgreSQL listens on TCP only after the new timeline was chosen (writable before anyone connects) #writable-before-tcp", async () => {
    const logs = await db.logText();
    const promoted = logs.search(/selected new timeline ID: 2/);
    const firstTcp = logs.search(/listening on IPv4 address/);
    expect(promoted, "promotion line").toBeGreaterThan(0);
    expect(firstTcp, "TCP listener line").toBeGreaterThan(promoted);
    expect(logs).toMatch(/recovery: replaying WAL with TCP closed/);
  });

  it("a crash-restart with the settings still set starts the existing data: same timeline, every committed row #restart-never-restores", async () => {
    await db.sql("INSERT INTO orders SELECT generate_series(101, 150)");
    await db.crashRestart();
    expect(await db.timeline()).toBe(2);
    expect(await rowsAfter()).toBe(150);
    expect(await db.logText()).toMatch(/restore-from-backup: skipped: this restore request was already applied to PGDATA at \S+ \(backup \d{8}-\d{6}F\)/);
  });

  it("a plain restart does the same #restart-never-restores", async () => {
    await db.sql("INSERT INTO orders SELECT generate_series(151, 160)");
    await db.restart();
    expect(await db.timeline()).toBe(2);
    expect(await rowsAfter()).toBe(160);
  });

  it("a new RESTORE_REQUEST_ID is a deliberate new request: the delta repair runs again #restore-request-id", async ({ bed }) => {
    await db.stop();
    db = await repair(bed, { RESTORE_REQUEST_ID: "repair-2" }).start();
    expect(await db.logText()).toMatch(/restore-from-backup: delta restore over the existing PGDATA: backup \d{8}-\d{6}F/);
    expect(await db.timeline()).toBeGreaterThan(2);
  });
});
