import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { noSchedule, pollUntil, RestoredCloneContainer, type StartedPrimaryContainer } from "../harness/index.js";

/** How long S3 is gone: 90 s by default (about 18 segments at archive_timeout 5 s); S3_OUTAGE_SECONDS for longer or shorter. */
const outageSeconds = Number(process.env.S3_OUTAGE_SECONDS ?? 90);
/**
 * The longest a commit may wait while S3 is gone: archiving never blocks commits, so only the
 * host's own stalls (a checkpoint's fsync, a busy machine) delay one; 10 s is far above those.
 */
const maxGapMs = 10_000;

describe("@s3-outage S3 down for minutes under continuous writes: nothing committed is lost #s3-outage", { timeout: (outageSeconds + 300) * 1000 }, () => {
  let db: StartedPrimaryContainer;
  let committed = 0;
  let writeErrors = 0;
  let peakWaiting = 0;
  /** When the server acknowledged each commit (Date.now() as the INSERT returned), in order. */
  const acknowledgedAt: number[] = [];
  /** The outage: from S3 taken off the network until it is put back. */
  let outageStart = 0;
  let outageEnd = 0;

  it.beforeAll(
    async ({ bed }) => {
      db = await bed
        .primary(await bed.s3.createBucket("outage"))
        // A short archive_timeout so the outage spans many segments; no scheduled backups.
        .withEnvironment({ ARCHIVE_TIMEOUT: "5" })
        .withSchedule(noSchedule)
        .start();
      await db.waitForBackupsActive();
      await db.sql("CREATE TABLE ledger (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(), filler text)");

      // One writer, one committed row at a time: `committed` is exactly what the server acknowledged.
      // Paced at about 50 commits a second: steady writes, without starving the other worker's
      // containers of the machine's two cores (archive_timeout still closes a segment every 5 s).
      const client = await db.connect();
      let writing = true;
      const writer = (async () => {
        while (writing) {
          try {
            await client.query("INSERT INTO ledger (id, filler) VALUES ($1, repeat('x', 2000))", [committed + 1]);
            committed++;
            acknowledgedAt.push(Date.now());
          } catch {
            writeErrors++;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })();

      await new Promise((r) => setTimeout(r, 5000));
      await bed.s3.isolate();
      outageStart = Date.now();
      const outageEnds = outageStart + outageSeconds * 1000;
      while (Date.now() < outageEnds) {
        peakWaiting = Math.max(peakWaiting, await db.walWaiting());
        await new Promise((r) => setTimeout(r, 2000));
      }
      outageEnd = Date.now();
      await bed.s3.reconnect();
      await new Promise((r) => setTimeout(r, 5000));
      writing = false;
      await writer;
      await client.end();
      await db.archiveCurrentWal(180_000);
      await pollUntil("every waiting segment archived", async () => (await db.walWaiting()) === 0, { timeoutMs: 180_000, intervalMs: 1000 });
      // The outage itself, then the catch-up: more than the default hook timeout.
    },
    (outageSeconds + 300) * 1000,
  );

  it.afterAll(async () => {
    await db?.stop({ removeVolumes: true });
  });

  it("kept accepting writes while S3 was unreachable, with WAL waiting locally", () => {
    expect(writeErrors).toBe(0);
    expect(peakWaiting).toBeGreaterThan(0);
    // Only commits acknowledged strictly inside the outage count, from 10 s after S3 left (archiving
    // has failed by then: archive_timeout is 5 s) until just before it came back. Commits before
    // and after the outage prove nothing about it.
    const from = outageStart + 10_000;
    const to = outageEnd;
    const during = acknowledgedAt.filter((t) => t > from && t < to);
    // At least one commit a second on average (the paced writer manages about fifty) ...
    expect(during.length, `${during.length} commits acknowledged during the outage`).toBeGreaterThanOrEqual(Math.floor((to - from) / 1000));
    // ... and never a stall: no gap between acknowledged commits (or the window's edges) over 10 s.
    // (A loop: thousands of commits are too many arguments for Math.max.)
    let longestGap = 0;
    let previous = from;
    for (const t of [...during, to]) {
      longestGap = Math.max(longestGap, t - previous);
      previous = t;
    }
    console.log(
      `[s3-outage] ${during.length} commits acknowledged in the ${((to - from) / 1000).toFixed(0)} s inside the outage; longest gap ${longestGap} ms`,
    );
    expect(longestGap, "longest time without an acknowledged commit during the outage (ms)").toBeLessThanOrEqual(maxGapMs);
  });

  it("caught up by itself once S3 returned", async () => {
    const r = await db.exec(["postgres-ba", "status"]);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toMatch(/WAL archiving: ok; .* 0 segment\(s\) waiting/);
  });

  it("restores a clone holding every committed row, including those written during the outage", async ({ bed }) => {
    await using clone = await new RestoredCloneContainer(bed.image, db).withNetwork(bed.network).start();
    expect(await clone.sql("SELECT count(*)::int AS n, max(id) AS last FROM ledger")).toEqual([{ n: committed, last: committed }]);
  });
});

/**
 * ARCHIVE_PUSH_QUEUE_MAX chosen knowingly: with S3 gone, once the WAL waiting for it passes the
 * cap, pgBackRest drops it and reports it archived, so pg_wal stops growing; the dropped
 * segments are never in the bucket (a gap for point-in-time recovery).
 */
describe("@s3-outage with ARCHIVE_PUSH_QUEUE_MAX, WAL past the cap is dropped, not kept #archive-push-queue-max", () => {
  let db: StartedPrimaryContainer;

  it.beforeAll(async ({ bed }) => {
    db = await bed
      .primary(await bed.s3.createBucket("queue-max"))
      .withEnvironment({ ARCHIVE_PUSH_QUEUE_MAX: "32MB" })
      .withSchedule(noSchedule)
      .start();
    await db.waitForBackupsActive();
  });

  it.afterAll(async () => {
    await db?.stop({ removeVolumes: true });
  });

  it("drops the whole waiting queue once it passes the cap while S3 is unreachable; those segments never reach the bucket", async ({ bed }) => {
    await db.sql("CREATE TABLE filler (id int, body text)");
    await bed.s3.isolate();
    const segments: string[] = [];
    try {
      // Six finished segments (96 MB) against a 32 MB cap (two segments).
      for (let i = 0; i < 6; i++) {
        await db.sql("INSERT INTO filler SELECT g, repeat('x', 1000) FROM generate_series(1, 2000) g");
        segments.push((await db.sql<{ segment: string }>("SELECT pg_walfile_name(pg_current_wal_lsn()) AS segment"))[0].segment);
        await db.sql("SELECT pg_switch_wal()");
      }
      await db.waitForLog(/WARN: dropped WAL file '[0-9A-F]{24}' because archive queue exceeded 32MB/);
      // pgBackRest drops the whole waiting queue once it passes the cap: pg_wal is emptied.
      await pollUntil("nothing left waiting in pg_wal", async () => (await db.walWaiting()) === 0, { timeoutMs: 120_000, intervalMs: 1000 });
    } finally {
      await bed.s3.reconnect();
    }
    // Archiving carries on with the next segment once S3 is back; the dropped ones never arrive.
    const next = await db.archiveCurrentWal(120_000);
    const stored = await pollUntil(`segment ${next} in the bucket`, async () => {
      const keys = await bed.s3.listObjects(db.bucket!.name, "pgbackrest/archive/");
      return keys.some((k) => k.includes(`/${next}-`)) ? keys : undefined;
    });
    const dropped = segments.filter((segment) => !stored.some((k) => k.includes(`/${segment}-`)));
    expect(dropped, "segments finished during the outage that never reached the bucket").toEqual(segments);
  });
});
