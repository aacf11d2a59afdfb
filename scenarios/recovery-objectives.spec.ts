import { describe, expect } from "vitest";
import { scenarioWithPrimary } from "../harness/fixtures.js";
import { noSchedule, pollUntil, type StartedPrimaryContainer } from "../harness/index.js";

interface StatusJson {
  problems: string[];
  recovery: {
    pointSeconds: number | null;
    oldestUnarchivedCommit: string | null;
    lastDrill: { ok: boolean; seconds: number; bytes?: number; label?: string; finishedAt: string; summary: string } | null;
  };
}

const it = scenarioWithPrimary({
  bucket: "objectives",
  // ARCHIVE_TIMEOUT's default (60 s) leaves a commit unarchived long enough to watch it age.
  configure: (p) => p.withSchedule(noSchedule).withEnvironment({ METRICS_PORT: "9187" }).withExposedPorts(9187),
});

const recovery = async (db: StartedPrimaryContainer) => (await db.statusJson<StatusJson>()).json.recovery;
/** The metrics text once it matches (scrapes share a status for 15 s). */
const metricsMatching = (db: StartedPrimaryContainer, pattern: RegExp) =>
  pollUntil(
    `metrics matching ${pattern}`,
    async () => {
      const text = await (await fetch(`http://${db.getHost()}:${db.getMappedPort(9187)}/metrics`)).text();
      return pattern.test(text) ? text : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 1000 },
  );

describe("@recovery-objectives status and metrics report the recovery point and the last restore drill, measured", () => {
  it("reports a recovery point of 0 once every commit is in the repository, and keeps it on an idle server #recovery-point-idle", async ({ db }) => {
    await db.sql("CREATE TABLE IF NOT EXISTS objectives (id int, at timestamptz DEFAULT now())");
    await db.archiveCurrentWal();
    await pollUntil("recovery point 0", async () => (await recovery(db)).pointSeconds === 0, { timeoutMs: 60_000, intervalMs: 2000 });
    // After a switch PostgreSQL writes a standby snapshot into the new segment by itself (within
    // 15 s), which no archive_timeout sends: WAL the repository lacks, but no commit in it.
    await pollUntil(
      "PostgreSQL's own WAL past the archived segment",
      async () => (await db.sql<{ offset: number }>("SELECT (pg_walfile_name_offset(pg_current_wal_flush_lsn())).file_offset AS offset"))[0].offset > 40,
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    expect(await recovery(db)).toMatchObject({ pointSeconds: 0, oldestUnarchivedCommit: null });
  });

  it("ages the oldest commit the repository does not have yet, and exits 2 past STATUS_MAX_RPO #recovery-point", async ({ db }) => {
    await db.archiveCurrentWal();
    await pollUntil("recovery point 0", async () => (await recovery(db)).pointSeconds === 0, { timeoutMs: 60_000, intervalMs: 2000 });
    const [{ at }] = await db.sql<{ at: Date }>("INSERT INTO objectives VALUES (1) RETURNING at");
    // Its segment is not finished and ARCHIVE_TIMEOUT is 60 s: the commit is on this disk only.
    const seen = await pollUntil(
      "a recovery point of 12 s",
      async () => {
        const asked = Date.now();
        const r = await recovery(db);
        return r.pointSeconds !== null && r.pointSeconds >= 12 ? { ...r, asked, answered: Date.now() } : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 2000 },
    );
    // The commit's own time, from its WAL record: within a second of the transaction's now(),
    // and aged at some moment while status ran.
    expect(Math.abs(Date.parse(seen.oldestUnarchivedCommit!) - at.getTime())).toBeLessThan(1000);
    expect(seen.pointSeconds!).toBeGreaterThanOrEqual(Math.floor((seen.asked - at.getTime()) / 1000) - 1);
    expect(seen.pointSeconds!).toBeLessThanOrEqual(Math.ceil((seen.answered - at.getTime()) / 1000) + 1);
    const r = await db.exec(["postgres-ba", "status"], { env: { STATUS_MAX_RPO: "10" } });
    expect(r.exitCode, r.output).toBe(2);
    expect(r.output).toMatch(/^recovery point: the oldest commit not in the repository is \d+ s old; /m);
    expect(r.output).toMatch(/^problem: recovery point: the oldest commit not in the repository yet is \d+ s old \(\S+\), more than STATUS_MAX_RPO=10$/m);
    await metricsMatching(db, /^pgbackrest_recovery_point_seconds\{stanza="main"\} (1[2-9]|[2-9]\d)$/m);
    // Archived: nothing to lose again.
    await db.archiveCurrentWal();
    await pollUntil("recovery point 0 after the switch", async () => (await recovery(db)).pointSeconds === 0, { timeoutMs: 60_000, intervalMs: 2000 });
    expect((await db.exec(["postgres-ba", "status"], { env: { STATUS_MAX_RPO: "10" } })).exitCode).toBe(0);
  });

  it("records a restore drill's time to a queryable server and its size, and holds it to STATUS_MAX_RTO #recovery-time", async ({ db }) => {
    expect((await recovery(db)).lastDrill).toBeNull();
    const [full] = await db.backups();
    const drill = await db.exec(["postgres-ba", "verify", "--restore"]);
    expect(drill.exitCode, drill.output).toBe(0);
    const { lastDrill } = await recovery(db);
    expect(lastDrill).toMatchObject({ ok: true, label: full.label });
    // The recovery time is the drill's own: its start to the answered query, not its clean-up.
    const answeredAfter = Number(drill.output.match(/answered \(databases: [^)]*\) in ([\d.]+) s/)?.[1]);
    expect(Math.abs(lastDrill!.seconds - answeredAfter), drill.output).toBeLessThanOrEqual(0.2);
    expect(lastDrill!.seconds).toBeGreaterThan(1);
    // A restored PostgreSQL 18 data directory: tens of MB.
    expect(lastDrill!.bytes).toBeGreaterThan(20e6);
    const text = await metricsMatching(db, /^pgbackrest_restore_drill_success\{stanza="main"\} 1$/m);
    expect(text).toContain(`pgbackrest_restore_drill_duration_seconds{stanza="main"} ${lastDrill!.seconds}`);
    expect(text).toContain(`pgbackrest_restore_drill_size_bytes{stanza="main"} ${lastDrill!.bytes}`);
    const held = await db.exec(["postgres-ba", "status"], { env: { STATUS_MAX_RTO: "1" } });
    expect(held.exitCode, held.output).toBe(2);
    expect(held.output).toMatch(/^problem: the last restore drill \(\S+\) took [\d.]+ s to a queryable server, more than STATUS_MAX_RTO=1$/m);
    expect((await db.exec(["postgres-ba", "status"], { env: { STATUS_MAX_RTO: "600" } })).exitCode).toBe(0);
  });

  it("records a failed drill, and status says so until one passes", async ({ db }) => {
    // Restored and started, but its query is refused: the drill asks as a superuser who does not exist.
    const failed = await db.exec(["postgres-ba", "verify", "--restore"], { env: { POSTGRES_USER: "no_such_role" } });
    expect(failed.exitCode, failed.output).not.toBe(0);
    const status = await db.exec(["postgres-ba", "status"]);
    expect(status.exitCode, status.output).toBe(2);
    expect(status.output).toMatch(/^problem: the last restore drill \(\S+\) failed: restore drill FAILED: .*no_such_role/m);
    expect(status.output).toMatch(/^recovery point: .*; last restore drill: FAILED, /m);
    await metricsMatching(db, /^pgbackrest_restore_drill_success\{stanza="main"\} 0$/m);
    expect((await db.exec(["postgres-ba", "verify", "--restore"])).exitCode).toBe(0);
    expect((await db.exec(["postgres-ba", "status"])).exitCode).toBe(0);
  });
});
