import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { pollUntil, type BucketConfig, type StartedPrimaryContainer, noSchedule } from "../harness/index.js";

describe("@restore a lost database comes back from S3 with every committed row", () => {
  let bucket: BucketConfig;
  let restored: StartedPrimaryContainer;
  let incrLabel: string;
  const credentials = { user: "shop", password: "restore-me", database: "shop" };

  it.beforeAll(async ({ bed }) => {
    bucket = await bed.s3.createBucket("restore");
    const original = await bed
      .primary(bucket)
      .withUsername(credentials.user)
      .withPassword(credentials.password)
      .withDatabase(credentials.database)
      // No schedule: the backups counted below are the ones this test takes.
      .withSchedule(noSchedule)
      .start();
    await original.waitForBackupsActive();
    await original.sql("CREATE TABLE orders (id int PRIMARY KEY, item text)");
    await original.sql("INSERT INTO orders SELECT g, 'before backup ' || g FROM generate_series(1, 1000) g");
    const r = await original.exec(["postgres-ba", "backup", "incr"]);
    expect(r.exitCode, r.output).toBe(0);
    // The first full (taken while the database was brand new) and an incremental on top of it.
    const labels = (await original.backups()).map((b) => b.label);
    expect(labels).toHaveLength(2);
    incrLabel = labels[1];
    // Committed after the last backup: only the archived WAL holds these.
    await original.sql("INSERT INTO orders SELECT g, 'after backup ' || g FROM generate_series(1001, 1500) g");
    await original.sql("UPDATE orders SET item = 'changed after backup' WHERE id = 7");
    await original.archiveCurrentWal();
    // The disk dies: container and volume are gone.
    await original.stop({ removeVolumes: true });

    restored = await bed
      .primary(bucket)
      .withUsername(credentials.user)
      .withPassword(credentials.password)
      .withDatabase(credentials.database)
      .withSchedule(noSchedule)
      .withRestore()
      .start();
  });

  it.afterAll(async () => {
    await restored?.stop({ removeVolumes: true });
  });

  it("restores the latest backup and replays the archived WAL: every committed row is back #restore-latest", async () => {
    const [row] = await restored.sql<{ n: string; after: string; changed: string }>(
      "SELECT count(*) AS n, count(*) FILTER (WHERE item LIKE 'after backup%') AS after, (SELECT item FROM orders WHERE id = 7) AS changed FROM orders",
    );
    expect(row).toEqual({ n: "1500", after: "500", changed: "changed after backup" });
    const logs = await restored.waitForLog(/\[postgres-ba\] server: /);
    expect(logs).toMatch(
      new RegExp(
        `restore-from-backup: restored: backup ${incrLabel} \\(incr, ended [^)]+\\), recovery to the end of the archived WAL, then promote, in [\\d.]+ s`,
      ),
    );
    expect(logs.match(/\[postgres-ba\] server: .*/)?.[0]).toBe("[postgres-ba] server: accepting connections as a writable primary on timeline 2");
  });

  it("accepts writes as a primary", async () => {
    await restored.sql("INSERT INTO orders VALUES (2001, 'after restore')");
    const [row] = await restored.sql<{ recovery: boolean }>("SELECT pg_is_in_recovery() AS recovery");
    expect(row.recovery).toBe(false);
  });

  it("archives the new timeline's WAL into the same stanza", async ({ bed }) => {
    const segment = await restored.archiveCurrentWal();
    expect(segment.slice(0, 8)).toBe("00000002");
    const keys = await pollUntil(`segment ${segment} in the bucket`, async () => {
      const k = await bed.s3.listObjects(bucket.name, "pgbackrest/archive/main/");
      return k.some((key) => key.includes(`/${segment}-`)) ? k : undefined;
    });
    expect(keys).toContain("pgbackrest/archive/main/18-1/00000002.history");
  });

  it("continues the same stanza without a second stanza-create or full backup #restore-same-stanza", async () => {
    expect(await restored.logText()).toMatch(/bootstrap-backups: skipped: stanza main is active/);
    const r = await restored.exec(["postgres-ba", "backup", "incr"]);
    expect(r.exitCode, r.output).toBe(0);
    const backups = await restored.backups();
    expect(backups.map((b) => b.type)).toEqual(["full", "incr", "incr"]);
    expect(backups[2].prior).toBe(incrLabel);
  });
});
