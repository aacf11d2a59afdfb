import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil, RestoredCloneContainer, type StartedPrimaryContainer, BackupTestbed, type StartedBackupTestbed } from "../harness/index.js";

/** How long S3 is gone; several minutes by default, shorter for a quick local run. */
const outageSeconds = Number(process.env.S3_OUTAGE_SECONDS ?? 150);
/**
 * The longest a commit may wait while S3 is gone: archiving never blocks commits, so only the
 * host's own stalls (a checkpoint's fsync, a busy machine) delay one; 10 s is far above those.
 */
const maxGapMs = 10_000;

describe("@s3-outage S3 down for minutes under continuous writes: nothing committed is lost #s3-outage", { timeout: (outageSeconds + 300) * 1000 }, () => {
  let bed: StartedBackupTestbed;
  let image: string;
  let db: StartedPrimaryContainer;
  let committed = 0;
  let writeErrors = 0;
  let peakWaiting = 0;
  /** When the server acknowledged each commit (Date.now() as the INSERT returned), in order. */
  const acknowledgedAt: number[] = [];
  /** The outage: from S3 taken off the network until it is put back. */
  let outageStart = 0;
  let outageEnd = 0;

  beforeAll(async () => {
    bed = await new BackupTestbed().start();
    image = bed.image;
    db = await bed
      .primary(await bed.s3.createBucket("outage"))
      // A short archive_timeout so the outage spans many segments; no scheduled backups.
      .withEnvironment({ ARCHIVE_TIMEOUT: "5" })
      .withSchedule({ full: "off", diff: "off", incr: "off" })
      .start();
    await db.waitForBackupsActive();
    await db.sql("CREATE TABLE ledger (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(), filler text)");

    // One writer, one committed row at a time: `committed` is exactly what the server acknowledged.
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
      }
    })();
    const waiting = async () => Number((await db.execOk(["sh", "-c", 'ls "$PGDATA/pg_wal/archive_status" | grep -c "\\.ready$" || true'])).output.trim());

    await new Promise((r) => setTimeout(r, 5000));
    await bed.s3.isolate();
    outageStart = Date.now();
    const outageEnds = outageStart + outageSeconds * 1000;
    while (Date.now() < outageEnds) {
      peakWaiting = Math.max(peakWaiting, await waiting());
      await new Promise((r) => setTimeout(r, 2000));
    }
    outageEnd = Date.now();
    await bed.s3.reconnect();
    await new Promise((r) => setTimeout(r, 5000));
    writing = false;
    await writer;
    await client.end();
    await db.archiveCurrentWal(180_000);
    await pollUntil("every waiting segment archived", async () => (await waiting()) === 0, { timeoutMs: 180_000, intervalMs: 1000 });
  });

  afterAll(async () => {
    await db?.stop({ removeVolumes: true });
    await bed?.stop();
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
    // At least one commit a second on average (one writer manages hundreds a second) ...
    expect(during.length, `${during.length} commits acknowledged during the outage`).toBeGreaterThanOrEqual(Math.floor((to - from) / 1000));
    // ... and never a stall: no gap between acknowledged commits (or the window's edges) over 10 s.
    // (A loop: hundreds of thousands of commits are too many arguments for Math.max.)
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

  it("restores a clone holding every committed row, including those written during the outage", async () => {
    await using clone = await new RestoredCloneContainer(image, db).withNetwork(bed.network).start();
    expect(await clone.sql("SELECT count(*)::int AS n, max(id) AS last FROM ledger")).toEqual([{ n: committed, last: committed }]);
  });
});
