import { describe, expect } from "vitest";
import { scenarioWithPrimary } from "../harness/fixtures.js";
import { pollUntil } from "../harness/index.js";

const it = scenarioWithPrimary({
  bucket: "schedule",
  configure: (p) => p.withSchedule({ full: "off", diff: "*/20 * * * * *", incr: "*/10 * * * * *" }),
});

describe("@schedule backups run from cron expressions, one at a time, and a failed one is retried", () => {
  it("takes differential and incremental backups on their schedules", async ({ db }) => {
    await db.waitForBackups("diff", 1, 90_000);
    const incr = await db.waitForBackups("incr", 1, 90_000);
    expect(incr[0].prior).toMatch(/F(_\d{8}-\d{6}[DI])?$/);
    expect(await db.logText()).toMatch(/schedule: started: diff "\*\/20 \* \* \* \* \*" next \S+; incr "\*\/10 \* \* \* \* \*" next /);
  });

  it("never runs two backups at once #one-backup-at-a-time", async ({ db, bed }) => {
    // Make one scheduled backup outlast the next tick: freeze S3 from just before an incr tick T
    // until after tick T+10 s (requests hang, nothing fails), so T+10 finds T's backup running.
    // pgBackRest's own lock would refuse a second backup too: the runtime must not even start it.
    const cronLog = async () => (await db.execOk(["sh", "-c", "cat /var/log/pgbackrest/backup-cron.log"])).output;
    const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;
    const skipped = /tick skipped: a \w+ backup is still running/g;
    const finished = /backup: \w+ backup \S+ finished/g;
    const tick = Math.ceil((Date.now() + 3000) / 10_000) * 10_000;
    await new Promise((r) => setTimeout(r, tick - 1000 - Date.now()));
    const before = await cronLog();
    await bed.s3.pause();
    try {
      await new Promise((r) => setTimeout(r, tick + 12_000 - Date.now()));
    } finally {
      await bed.s3.unpause();
    }
    const log = await pollUntil(
      "the frozen backup finished after S3 came back",
      async () => {
        const text = await cronLog();
        return count(text, finished) > count(before, finished) ? text : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    // pgBackRest never had to refuse a second backup: no lock conflict in its logs or the
    // container's (read for real: each has the backups' own lines).
    const pgbackrestLogs = (await db.execOk(["sh", "-c", "cat /var/log/pgbackrest/*.log"])).output;
    expect(pgbackrestLogs).toMatch(/backup command begin/);
    expect.soft(pgbackrestLogs).not.toMatch(/unable to acquire lock/);
    const containerLog = await db.logText();
    expect(containerLog).toMatch(/backup: (diff|incr) backup \S+ finished/);
    expect.soft(containerLog).not.toMatch(/unable to acquire lock/);
    // Because the runtime did not start it: the tick that came while the backup ran was skipped.
    expect(count(log, skipped), log.slice(before.length)).toBeGreaterThan(count(before, skipped));
    expect(log.slice(before.length)).toMatch(/schedule: (diff|incr) tick skipped: a (diff|incr) backup is still running/);
    // The backups pgBackRest lists never overlap in time.
    const backups = (await db.backups()).sort((a, b) => a.timestamp.start - b.timestamp.start);
    expect(backups.length).toBeGreaterThan(2);
    for (let i = 1; i < backups.length; i++) expect(backups[i].timestamp.start).toBeGreaterThanOrEqual(backups[i - 1].timestamp.stop);
  });

  it("logs a failed backup with pgBackRest's reason and succeeds at a later tick #failed-backup-retried", async ({ db, bed }) => {
    await bed.s3.isolate();
    await db.waitForLog(/scheduled (diff|incr) backup failed, the next tick tries again: .*ERROR: \[\d+\]/, 90_000);
    await bed.s3.reconnect();
    // A backup finished after the last failure, and pgBackRest lists it. (Counting backups would
    // not do: a finishing diff expires older ones under RETENTION_DIFF.) The log decides first: a
    // backup is listed a moment before the runtime logs it finished, and a tick during the
    // reconnect may fail once more.
    const label = await pollUntil(
      "a scheduled backup finished after the last failure",
      async () => {
        const logs = await db.logText();
        return logs.slice(logs.lastIndexOf("backup failed, the next tick tries again")).match(/backup: (?:diff|incr) backup (\S+) finished in [\d.]+ s/)?.[1];
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    expect((await db.backups()).map((b) => b.label)).toContain(label);
  });
});
