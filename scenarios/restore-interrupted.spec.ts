import { randomBytes } from "node:crypto";
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { OneShotContainer, pollUntil, removeVolume, type BucketConfig, noSchedule } from "../harness/index.js";

describe("@restore-interrupted a restore killed half-way is never served, and the next start finishes it #never-half-restored", () => {
  let bucket: BucketConfig;
  let image: string;
  let rows: number;
  const volume = `interrupted-${randomBytes(4).toString("hex")}`;
  const creds = { user: "app", password: "interrupt-pw", database: "app" };
  const restoreEnv = () => ({ ...bucket.env, PGBACKREST_STANZA: "main", RESTORE_FROM_BACKUP: "true" });

  it.beforeAll(async ({ bed }) => {
    image = bed.image;
    bucket = await bed.s3.createBucket("interrupted");
    const source = await bed
      .primary(bucket)
      .withUsername(creds.user)
      .withPassword(creds.password)
      .withDatabase(creds.database)
      .withSchedule(noSchedule)
      .start();
    await source.waitForBackupsActive();
    // Large enough (about 150 MB) that the restore takes a moment to interrupt.
    await source.sql("CREATE TABLE payload AS SELECT g AS id, repeat(md5(g::text), 8) AS data FROM generate_series(1, 500000) g");
    const r = await source.exec(["postgres-ba", "backup", "full"]);
    expect(r.exitCode, r.output).toBe(0);
    [{ n: rows }] = await source.sql<{ n: number }>("SELECT count(*)::int AS n FROM payload");
    await source.archiveCurrentWal();
    await source.stop({ removeVolumes: true });

    // Start restoring into a fresh volume, freeze S3 once files arrive, then pull the plug.
    const restoring = await new OneShotContainer(image)
      .withNetwork(bed.network.getName())
      .withEnvironment({ ...restoreEnv(), PGBACKREST_PROCESS_MAX: "1" })
      .withFile(bucket.caFile.target, bucket.caFile.content)
      .withVolume(volume, "/var/lib/postgresql")
      .startDetached();
    await pollUntil(
      "the restore writing into PGDATA",
      async () => {
        const r = await restoring.exec([
          "sh",
          "-c",
          'test -e /var/lib/postgresql/18/.postgres-ba/docker.restore-in-progress && ls "$PGDATA/base" 2>/dev/null | wc -l',
        ]);
        return r.exitCode === 0 && Number(r.output.trim()) > 0;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    await bed.s3.pause();
    await restoring.kill();
    await restoring.remove();
    await bed.s3.unpause();
  });

  it.afterAll(async () => {
    await removeVolume(volume);
  });

  it("refuses to start the half-restored directory as a database", async () => {
    const refused = await new OneShotContainer(image).withVolume(volume, "/var/lib/postgresql").withEnvironment({ POSTGRES_PASSWORD: "unused" }).run();
    expect(refused.exitCode).toBe(73);
    expect(refused.output).toMatch(
      /PGDATA \/var\/lib\/postgresql\/18\/docker holds an unfinished restore .*it is not started half restored\. Fix: start again with RESTORE_FROM_BACKUP=true to resume it/,
    );
    expect(refused.output).not.toMatch(/database system is ready to accept connections/);
  });

  it("resumes with a delta restore and ends with every row", async ({ bed }) => {
    await using db = await bed
      .primary(bucket)
      .withDataVolume(volume)
      .withUsername(creds.user)
      .withPassword(creds.password)
      .withDatabase(creds.database)
      .withRestore()
      .start();
    expect(await db.sql("SELECT count(*)::int AS n FROM payload")).toEqual([{ n: rows }]);
    expect(await db.logText()).toMatch(/restore-from-backup: resumed an interrupted restore with --delta: backup \d{8}-\d{6}F/);
  });
});
