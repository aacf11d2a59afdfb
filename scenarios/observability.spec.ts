import { describe, expect } from "vitest";
import { scenarioWithPrimary } from "../harness/fixtures.js";
import { noSchedule, pollUntil, type StartedPrimaryContainer } from "../harness/index.js";

interface StatusJson {
  problems: string[];
  latest: { full?: { label: string } };
  archiving: { failing: boolean; waitingSegments: number };
  repository: { reachable: boolean };
}

const it = scenarioWithPrimary({
  bucket: "observe",
  configure: (p) => p.withSchedule(noSchedule).withEnvironment({ METRICS_PORT: "9187", RESTORE_DRILL_SCHEDULE: "*/20 * * * * *" }).withExposedPorts(9187),
});

const status = (db: StartedPrimaryContainer) => db.statusJson<StatusJson>();

describe("@observability status, check and verify tell whether the backups can be trusted", () => {
  it("reports a healthy primary and exits 0", async ({ db }) => {
    const [full] = await db.backups();
    const r = await db.exec(["postgres-ba", "status"]);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toMatch(/^stanza main: ok \(backups active\)$/m);
    expect(r.output).toMatch(new RegExp(`^last full: ${full.label}, \\d+ s ago, [\\d.]+ MB$`, "m"));
    expect(r.output).toMatch(/^WAL archiving: ok; last archived [0-9A-F]{24}/m);
    expect((await status(db)).json.latest.full?.label).toBe(full.label);
  });

  it("exits 2 when the newest backup is older than STATUS_MAX_BACKUP_AGE #status-probe", async ({ db }) => {
    // The fixture's backup can be under a second old here (one fresh-clone run): wait until it is past the limit.
    const newest = (await db.backups()).at(-1)!;
    await pollUntil("the newest backup more than 2 s old", () => Date.now() / 1000 - newest.timestamp.stop > 2, { intervalMs: 200 });
    const r = await db.exec(["postgres-ba", "status"], { env: { STATUS_MAX_BACKUP_AGE: "1" } });
    expect(r.exitCode).toBe(2);
    expect(r.output).toMatch(/^problem: newest backup \d{8}-\d{6}F is \d+ s old, more than STATUS_MAX_BACKUP_AGE=1$/m);
  });

  it("serves Prometheus metrics when METRICS_PORT is set #metrics", async ({ db }) => {
    await db.waitForLog(/metrics: serving Prometheus metrics on 0\.0\.0\.0:9187\/metrics/);
    const res = await fetch(`http://${db.getHost()}:${db.getMappedPort(9187)}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('pgbackrest_stanza_status{stanza="main"} 0');
    expect(text).toMatch(/^pgbackrest_backup_since_last_completion_seconds\{stanza="main",backup_type="full"\} \d+$/m);
    expect(text).toContain('pgbackrest_wal_archive_failing{stanza="main"} 0');
  });

  it("passes pgbackrest check and verify", async ({ db }) => {
    const check = await db.exec(["postgres-ba", "check"]);
    expect(check.exitCode, check.output).toBe(0);
    const verify = await db.exec(["postgres-ba", "verify"]);
    expect(verify.exitCode, verify.output).toBe(0);
    expect(verify.output).toMatch(/verify command end: completed successfully/);
  });

  it("runs a restore drill inside the container without touching the database or the repository #restore-drill", async ({ db, bed }) => {
    const backupsBefore = await db.backups();
    // Two at once (as when a person runs one during the scheduled drill): the second waits for
    // pgBackRest's restore lock instead of failing.
    const [r, concurrent] = await Promise.all([1, 2].map(() => db.exec(["postgres-ba", "verify", "--restore"])));
    expect(concurrent.exitCode, concurrent.output).toBe(0);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toMatch(
      new RegExp(`restore drill passed: backup ${backupsBefore[0].label} restored, started and answered \\(databases: postgres, test\\) in [\\d.]+ s`),
    );
    // What a drill could write: WAL of its promoted timeline 2, or a backup. Neither is there.
    const keys = await bed.s3.listObjects(db.bucket!.name);
    expect(
      keys.some((k) => /\/00000001/.test(k)),
      "timeline 1 WAL is listed",
    ).toBe(true);
    expect(keys.filter((k) => /\/00000002/.test(k))).toEqual([]);
    expect(await db.backups()).toEqual(backupsBefore);
    // Their scratch directories are gone, and so are those of scheduled drills that began before
    // ours ended (once they end). A scheduled drill begun since may be running: every 20 s here.
    const drillsEnded = Date.now();
    await pollUntil(
      "no drill directory left from a drill begun before ours ended",
      async () =>
        (await db.execOk(["ls", "/var/lib/postgresql/18/.postgres-ba"])).output
          .split("\n")
          .filter((name) => /^drill-\d+$/.test(name.trim()))
          .every((name) => Number(name.trim().slice("drill-".length)) > drillsEnded),
      { timeoutMs: 120_000, intervalMs: 2000 },
    );
  });

  it("runs the restore drill on its schedule and logs the result", async ({ db }) => {
    const logs = await db.waitForLog(/restore-drill: restore drill (passed|FAILED)/, 90_000);
    expect(logs).toMatch(/restore-drill: scheduled "\*\/20 \* \* \* \* \*", next /);
    expect(logs).toMatch(/restore-drill: restore drill passed: backup \d{8}-\d{6}F\S* restored, started and answered/);
  });

  it("says archiving is failing while S3 is unreachable, keeps accepting writes, and recovers by itself", async ({ db, bed }) => {
    await bed.s3.isolate();
    await db.sql("CREATE TABLE during_outage AS SELECT g FROM generate_series(1, 1000) g");
    await db.sql("SELECT pg_switch_wal()");
    const failing = await pollUntil(
      "status reporting failing archiving",
      async () => {
        const s = await status(db);
        return s.json.archiving.failing ? s : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    expect(failing.exitCode).toBe(2);
    expect(failing.json.archiving.waitingSegments).toBeGreaterThan(0);
    expect(failing.json.repository.reachable).toBe(false);
    await db.sql("INSERT INTO during_outage VALUES (1001)");

    await bed.s3.reconnect();
    const healthy = await pollUntil(
      "archiving caught up",
      async () => {
        const s = await status(db);
        return s.exitCode === 0 && s.json.archiving.waitingSegments === 0 ? s : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    expect(healthy.json.problems).toEqual([]);
  });
});
