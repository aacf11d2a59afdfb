import { describe, expect } from "vitest";
import { scenarioWithPrimary } from "../harness/fixtures.js";
import { noSchedule, pollUntil } from "../harness/index.js";

/** ARCHIVE_TIMEOUT in seconds, as configured below. */
const archiveTimeoutSeconds = 5;
/**
 * After the last commit, archive_timeout forces the segment switch within archiveTimeoutSeconds
 * (the checkpointer checks it about once a second); the margin covers the archiver waking up, the
 * asynchronous archive-push starting and one S3 PUT on a busy 2-core machine, which take about a
 * second each. PostgreSQL's default (no archive_timeout) or a timeout ignored would miss it.
 */
const archiveDeadlineMs = (archiveTimeoutSeconds + 10) * 1000;

const it = scenarioWithPrimary({
  bucket: "wal",
  configure: (p) => p.withEnvironment({ ARCHIVE_TIMEOUT: String(archiveTimeoutSeconds) }).withSchedule(noSchedule),
});

describe("@wal-archiving WAL reaches S3 by itself within the configured timeout", () => {
  it("runs with archive_mode on, the configured archive_timeout and pgBackRest as archive_command", async ({ db }) => {
    const [row] = await db.sql<{ mode: string; timeout: string; command: string }>(
      "SELECT current_setting('archive_mode') AS mode, current_setting('archive_timeout') AS timeout, current_setting('archive_command') AS command",
    );
    expect(row).toEqual({ mode: "on", timeout: `${archiveTimeoutSeconds}s`, command: "/usr/bin/pgbackrest --stanza=main archive-push %p" });
  });

  it("switches and archives a segment without being asked, once the timeout passes", async ({ db, bed, bucket }) => {
    await db.sql("CREATE TABLE heartbeat AS SELECT now() AS at");
    const committedAt = Date.now();
    const [{ segment }] = await db.sql<{ segment: string }>("SELECT pg_walfile_name(pg_current_wal_lsn()) AS segment");
    // No pg_switch_wal(): archive_timeout must do it, within the deadline counted from the commit.
    const key = await pollUntil(
      `segment ${segment} in the bucket within ${archiveDeadlineMs} ms of the commit`,
      async () => (await bed.s3.listObjects(bucket.name, "pgbackrest/archive/main/18-1/")).find((k) => k.includes(`/${segment}-`)),
      { timeoutMs: Math.max(0, committedAt + archiveDeadlineMs - Date.now()), intervalMs: 250 },
    );
    const seenAfterMs = Date.now() - committedAt;
    console.log(`[wal-archiving] segment ${segment} in the bucket ${seenAfterMs} ms after the commit`);
    expect(seenAfterMs).toBeLessThanOrEqual(archiveDeadlineMs);
    expect(key).toMatch(/\.zst$/);
    // Asynchronous archiving: the object lands in S3 a moment before archive_command returns and
    // pg_stat_archiver counts it.
    const archiver = await pollUntil(
      `pg_stat_archiver reporting ${segment}`,
      async () => {
        const [row] = await db.sql<{ failed_count: string; last: string | null }>("SELECT failed_count, last_archived_wal AS last FROM pg_stat_archiver");
        return row.last !== null && row.last >= segment ? row : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(archiver.failed_count).toBe("0");
  });

  it("archives asynchronously through the spool directory outside pg_wal #async-archiving", async ({ db }) => {
    const spool = await db.execOk(["sh", "-c", "ls /var/spool/pgbackrest/archive/main/out | grep -c '\\.ok$'"]);
    expect(Number(spool.output.trim())).toBeGreaterThan(0);
  });
});
