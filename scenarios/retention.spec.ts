import { describe, expect } from "vitest";
import { scenarioWithPrimary } from "../harness/fixtures.js";
import { type BackupInfo, noSchedule } from "../harness/index.js";

const it = scenarioWithPrimary({
  bucket: "retention",
  configure: (p) => p.withEnvironment({ RETENTION_FULL: "1", RETENTION_DIFF: "1" }).withSchedule(noSchedule),
});

describe("@retention old backups and their WAL are expired after each backup #retention", () => {
  let before: BackupInfo[];

  it.beforeAll(async ({ db }) => {
    await db.sql("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
    // Two differentials on the first full, with WAL archived between them.
    for (const type of ["diff", "diff"]) {
      await db.archiveCurrentWal();
      const r = await db.exec(["postgres-ba", "backup", type]);
      expect(r.exitCode, r.output).toBe(0);
    }
    before = await db.backups();
    await db.archiveCurrentWal();
    const r = await db.exec(["postgres-ba", "backup", "full"]);
    expect(r.exitCode, r.output).toBe(0);
  });

  it("kept only the newest differential while the first full was the only full (RETENTION_DIFF=1)", () => {
    expect(before.map((b) => b.type)).toEqual(["full", "diff"]);
  });

  it("expires the older full and everything on it once a new full exists (RETENTION_FULL=1)", async ({ db, bed, bucket }) => {
    const after = await db.backups();
    expect(after.map((b) => b.type)).toEqual(["full"]);
    expect(after[0].label).not.toBe(before[0].label);
    const keys = await bed.s3.listObjects(bucket.name, "pgbackrest/backup/main/");
    expect(keys).toContain(`pgbackrest/backup/main/${after[0].label}/backup.manifest`);
    expect(keys.filter((k) => k.includes(before[0].label) && !k.includes("backup.history"))).toEqual([]);
  });

  it("expires the WAL older than the remaining full", async ({ db, bed, bucket }) => {
    const [after] = await db.backups();
    const archive = (await db.stanzaInfo())!.archive[0];
    expect(archive.min! >= after.archive.start).toBe(true);
    const keys = await bed.s3.listObjects(bucket.name, "pgbackrest/archive/main/18-1/");
    const segments = keys.map((k) => k.split("/").pop()!.slice(0, 24)).filter((s) => /^[0-9A-F]{24}$/.test(s));
    expect(segments.length).toBeGreaterThan(0);
    expect(segments.every((s) => s >= after.archive.start)).toBe(true);
  });
});
