import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil, type StartedPrimaryContainer, BackupTestbed, type StartedBackupTestbed } from "../harness/index.js";

describe("@schedule backups run from cron expressions, one at a time, and a failed one is retried", () => {
  let bed: StartedBackupTestbed;
  let db: StartedPrimaryContainer;

  beforeAll(async () => {
    bed = await new BackupTestbed().start();
    db = await bed.primary(await bed.s3.createBucket("schedule"))
      .withSchedule({ full: "off", diff: "*/20 * * * * *", incr: "*/10 * * * * *" }).start();
    await db.waitForBackupsActive();
  });

  afterAll(async () => {
    await db?.stop({ removeVolumes: true });
    await bed?.stop();
  });

  it("takes differential and incremental backups on their schedules", async () => {
    await db.waitForBackups("diff", 1, 90_000);
    const incr = await db.waitForBackups("incr", 1, 90_000);
    expect(incr[0].prior).toMatch(/F(_\d{8}-\d{6}[DI])?$/);
    expect(await db.logText()).toMatch(/schedule: started: diff "\*\/20 \* \* \* \* \*" next \S+; incr "\*\/10 \* \* \* \* \*" next /);
  });

  it("never runs two backups at once", async () => {
    const backups = (await db.backups()).sort((a, b) => a.timestamp.start - b.timestamp.start);
    for (let i = 1; i < backups.length; i++) expect(backups[i].timestamp.start).toBeGreaterThanOrEqual(backups[i - 1].timestamp.stop);
  });

  it("logs a failed backup with pgBackRest's reason and succeeds at a later tick", async () => {
    await bed.s3.isolate();
    await db.waitForLog(/scheduled (diff|incr) backup failed, the next tick tries again: .*ERROR: \[\d+\]/, 90_000);
    await bed.s3.reconnect();
    const count = (await db.backups()).length;
    await pollUntil("a scheduled backup after S3 came back", async () => (await db.backups()).length > count, { timeoutMs: 90_000, intervalMs: 1000 });
    const logs = await db.logText();
    const lastFailure = logs.lastIndexOf("backup failed, the next tick tries again");
    expect(logs.slice(lastFailure)).toMatch(/backup: (diff|incr) backup \S+ finished in [\d.]+ s/);
  });
});
