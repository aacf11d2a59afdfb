import { describe, expect } from "vitest";
import { scenarioWithPrimary } from "../harness/fixtures.js";
import { type BackupInfo, noSchedule } from "../harness/index.js";

const it = scenarioWithPrimary({ bucket: "types", configure: (p) => p.withSchedule(noSchedule) });

describe("@backup-types full, differential and incremental backups, each on the right parent", () => {
  let full: BackupInfo;
  let diff: BackupInfo;
  let incr: BackupInfo;

  it.beforeAll(async ({ db }) => {
    await db.sql("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10000) g");
    for (const type of ["full", "diff", "incr"]) {
      const r = await db.exec(["postgres-ba", "backup", type]);
      expect(r.exitCode, r.output).toBe(0);
      await db.sql("INSERT INTO t SELECT g FROM generate_series(1, 1000) g");
    }
    [, full, diff, incr] = await db.backups();
  });

  it("takes a full backup that depends on nothing", () => {
    expect(full).toMatchObject({ type: "full", prior: null });
    expect(full.reference ?? []).toEqual([]);
  });

  it("takes a differential on the full", () => {
    expect(diff).toMatchObject({ type: "diff", prior: full.label });
    expect(diff.label).toMatch(new RegExp(`^${full.label}_\\d{8}-\\d{6}D$`));
    expect(diff.reference).toEqual([full.label]);
  });

  it("takes an incremental on the differential", () => {
    expect(incr).toMatchObject({ type: "incr", prior: diff.label });
    expect(incr.label).toMatch(new RegExp(`^${full.label}_\\d{8}-\\d{6}I$`));
    expect(incr.reference).toEqual(expect.arrayContaining([full.label]));
  });

  it("stores each one in the bucket under its label", async ({ bed, bucket }) => {
    const keys = await bed.s3.listObjects(bucket.name, "pgbackrest/backup/main/");
    for (const b of [full, diff, incr]) expect(keys).toContain(`pgbackrest/backup/main/${b.label}/backup.manifest`);
  });

  it("also answers the seed's own command, run as root: pgbackrest --stanza=main info #seed-commands", async ({ db }) => {
    const r = await db.exec(["pgbackrest", "--stanza=main", "info"]);
    expect(r.exitCode, r.output).toBe(0);
    for (const b of [full, diff, incr]) expect(r.output).toContain(b.label);
  });
});
