/**
 * A real, imperfect S3 store: Ceph's RADOS Gateway on its dbstore backend. Unlike s3rver it
 * checks every request's SigV4 signature, so a wrong secret is refused as on AWS; and it answers
 * a ranged GET with the wrong bytes (bytes 10-19 of an object come back as bytes 0-9), the
 * defect that makes bundled and block-incremental backups unrestorable while pgBackRest reports
 * them successful. The product probes the store before its first backup and says so.
 */
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import {
  type BucketConfig,
  noSchedule,
  pollUntil,
  RestoredCloneContainer,
  S3Container,
  type StartedBackupTestbed,
  type StartedPrimaryContainer,
  type StartedS3Container,
} from "../harness/index.js";

let rgw: StartedS3Container;
/** Every primary a test started, stopped before the store. */
const primaries: StartedPrimaryContainer[] = [];

/** A primary backing up to the RGW bucket, with no schedule (only the first backup runs). */
async function primaryOn(bed: StartedBackupTestbed, bucket: BucketConfig, env: Record<string, string> = {}): Promise<StartedPrimaryContainer> {
  const db = await bed.primary(bucket).withSchedule(noSchedule).withEnvironment(env).start();
  primaries.push(db);
  return db;
}

it.beforeAll(async ({ bed }) => {
  rgw = await new S3Container().withBackend("rgw").withNetwork(bed.network).withNetworkAlias("rgw").start();
});

it.afterAll(async () => {
  for (const db of primaries) await db.stop({ removeVolumes: true });
  await rgw?.stop();
});

describe("@s3-store a wrong secret key on a store that checks signatures", () => {
  const wrongSecret = "not-the-secret-9f3a2c41d7";
  it("is refused by S3 with one line naming the keys, serves anyway, and writes nothing to the bucket #s3-wrong-secret", async ({ bed }) => {
    const bucket = await rgw.createBucket("wrong-secret");
    const db = await primaryOn(bed, { ...bucket, env: { ...bucket.env, S3_SECRET_KEY: wrongSecret } });
    const refused =
      /S3 refused the credentials for s3:\/\/wrong-secret-[0-9a-f]+\/pgbackrest at rgw:9000 \(.*403.*SignatureDoesNotMatch.*\)\. Fix: check S3_ACCESS_KEY and S3_SECRET_KEY/;
    const failure = (await db.waitForLog(/bootstrap-backups: ERROR: .*/)).match(/bootstrap-backups: ERROR: .*/)?.[0];
    expect(failure).toMatch(refused);
    const check = await db.exec(["postgres-ba", "check"]);
    expect(check.exitCode, check.output).toBe(69);
    expect(check.output).toMatch(refused);
    expect(await db.sql("SELECT pg_is_in_recovery() AS standby")).toEqual([{ standby: false }]);
    expect(await rgw.listObjects(bucket.name)).toEqual([]);
    expect(`${await db.logText()}\n${check.output}`).not.toContain(wrongSecret);
  });
});

describe("@s3-store a store that answers ranged reads with the wrong bytes", () => {
  it("is found by the probe before the first backup: no backup is taken, the line says why and what to set #store-probe", async ({ bed }) => {
    const bucket = await rgw.createBucket("ranges");
    const db = await primaryOn(bed, bucket);
    const wrongRanges =
      /the S3 store of s3:\/\/ranges-[0-9a-f]+\/pgbackrest answers ranged reads with the wrong bytes \(asked for bytes 10-19 of a 100000-byte object, got bytes \d+-\d+\);.* no backup was taken\. Fix: set BACKUP_BUNDLE=false and BACKUP_BLOCK_INCREMENTAL=false/;
    const failure = (await db.waitForLog(/bootstrap-backups: ERROR: .*/)).match(/bootstrap-backups: ERROR: .*/)?.[0];
    expect(failure).toMatch(wrongRanges);
    const check = await db.exec(["postgres-ba", "check"]);
    expect(check.exitCode, check.output).toBe(69);
    expect(check.output).toMatch(wrongRanges);
    // Nothing stays behind: no stanza, no backup, and the probe's own objects removed. The first
    // backup is retried (after 2 s, 4 s, ...), and a retry's probe objects exist while it runs:
    // an empty listing between retries proves that none is left.
    await pollUntil("an empty bucket between the first backup's retries", async () => (await rgw.listObjects(bucket.name)).length === 0, { timeoutMs: 60_000 });
    expect((await db.statusJson<{ state: string }>()).json.state).toBe("pending");
  });

  it("backs up with bundling and block incremental off, and a restore brings every row back #store-probe-whole-files", async ({ bed }) => {
    const bucket = await rgw.createBucket("whole-files");
    const db = await primaryOn(bed, bucket, { BACKUP_BUNDLE: "false", BACKUP_BLOCK_INCREMENTAL: "false" });
    await db.waitForBackupsActive();
    expect(await db.logText()).toMatch(
      /answers ranged reads wrongly \(asked for bytes 10-19 of a 100000-byte object, got bytes \d+-\d+\); bundling and block incremental are off/,
    );
    await db.sql("CREATE TABLE kept AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 20000) g");
    const incr = await db.exec(["postgres-ba", "backup", "incr"]);
    expect(incr.exitCode, incr.output).toBe(0);
    await db.sql("INSERT INTO kept SELECT g, md5(g::text) FROM generate_series(20001, 25000) g");
    await db.archiveCurrentWal();
    const check = await db.exec(["postgres-ba", "check"]);
    expect(check.exitCode, check.output).toBe(0);
    expect(check.output).toMatch(/store probe: read after write ok, listing ok, ranged read wrong .*unused/);

    await using clone = await new RestoredCloneContainer(bed.image, db).withNetwork(bed.network).start();
    expect(await clone.sql("SELECT count(*)::int AS n, sum(id)::bigint AS total FROM kept")).toEqual([{ n: 25000, total: String((25000 * 25001) / 2) }]);
  });
});
