import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { OneShotContainer, type BucketConfig, type StartedPrimaryContainer, noSchedule } from "../harness/index.js";

interface FailedRestore {
  what: string;
  bucket: "with backups" | "empty";
  env: Record<string, string>;
  exitCode: number;
  line: RegExp;
}

const inTheFuture = new Date(Date.now() + 7 * 86400_000).toISOString();

const cases: FailedRestore[] = [
  {
    what: "a bucket with no backup",
    bucket: "empty",
    env: {},
    exitCode: 69,
    line: /RESTORE_FROM_BACKUP=true: stanza main does not exist in s3:\/\/restore-empty-[0-9a-f]+\/pgbackrest\. Fix: check S3_BUCKET, S3_PATH and PGBACKREST_STANZA/,
  },
  // s3rver checks the access key id but does not verify SigV4 signatures, so a wrong secret
  // alone would pass here (MinIO and AWS refuse it with the same 403 this case gets).
  {
    what: "wrong S3 credentials",
    bucket: "with backups",
    env: { S3_ACCESS_KEY: "not-a-key-it-knows" },
    exitCode: 69,
    line: /RESTORE_FROM_BACKUP=true: S3 refused the credentials for s3:\/\/restore-src-[0-9a-f]+\/pgbackrest at s3:9000 .*Fix: check S3_ACCESS_KEY and S3_SECRET_KEY/,
  },
  {
    what: "an unreachable S3 endpoint",
    bucket: "with backups",
    env: { S3_ENDPOINT: "no-such-s3.invalid" },
    exitCode: 69,
    line: /RESTORE_FROM_BACKUP=true: cannot reach the S3 endpoint of s3:\/\/restore-src-[0-9a-f]+\/pgbackrest at no-such-s3\.invalid:9000 .*Fix: check S3_ENDPOINT and S3_PORT/,
  },
  {
    what: "restore and replica at once",
    bucket: "with backups",
    env: { PG_MODE: "replica" },
    exitCode: 78,
    line: /RESTORE_FROM_BACKUP=true with PG_MODE=replica: a container either restores a primary from S3 or clones a replica, not both/,
  },
  {
    what: "a target time in the future",
    bucket: "with backups",
    env: { RESTORE_TARGET_TIME: inTheFuture },
    exitCode: 69,
    line: /RESTORE_TARGET_TIME=\S+ is in the future .*Fix: choose a time in the past/,
  },
  {
    what: "a target time before the oldest backup",
    bucket: "with backups",
    env: { RESTORE_TARGET_TIME: "2020-01-01 00:00:00+00" },
    exitCode: 69,
    line: /RESTORE_TARGET_TIME=2020-01-01 00:00:00\+00 is before the oldest backup \d{8}-\d{6}F, which ended at .*Fix: choose a later time/,
  },
];

describe("@restore-errors a restore that cannot succeed stops with the cause and changes nothing #restore-errors", () => {
  let image: string;
  let source: StartedPrimaryContainer;
  const buckets = {} as Record<FailedRestore["bucket"], BucketConfig>;
  /** Key -> "ETag size" of every object: a rewritten object with the same name is a change too. */
  const objectsBefore = {} as Record<FailedRestore["bucket"], Record<string, string>>;

  it.beforeAll(async ({ bed }) => {
    image = bed.image;
    buckets["with backups"] = await bed.s3.createBucket("restore-src");
    buckets.empty = await bed.s3.createBucket("restore-empty");
    source = await bed.primary(buckets["with backups"]).withSchedule(noSchedule).start();
    await source.waitForBackupsActive();
    // Nothing may change in the repository while the failed restores run.
    await source.stop({ removeVolumes: true });
    for (const b of ["with backups", "empty"] as const) objectsBefore[b] = await bed.s3.objectDigests(buckets[b].name);
    // The comparison below is only as good as what it compares: the stanza's files are there.
    expect(Object.keys(objectsBefore["with backups"]).some((k) => k.endsWith("backup.info"))).toBe(true);
  });

  it.for(cases)("refuses $what", async ({ bucket, env, exitCode, line }, { bed }) => {
    const result = await new OneShotContainer(image)
      .withNetwork(bed.network.getName())
      .withEnvironment({ ...buckets[bucket].env, PGBACKREST_STANZA: "main", RESTORE_FROM_BACKUP: "true", ...env })
      .withFile(buckets[bucket].caFile.target, buckets[bucket].caFile.content)
      .withListing("/var/lib/postgresql/18/docker")
      .run();
    expect(result.exitCode, result.output).toBe(exitCode);
    const errors = result.output.split("\n").filter((l) => /error/i.test(l));
    expect(errors, result.output).toHaveLength(1);
    expect(errors[0]).toMatch(line);
    expect(result.listings["/var/lib/postgresql/18/docker"]).toEqual([""]);
  });

  it("left both buckets exactly as they were: the same objects with the same ETag and size", async ({ bed }) => {
    for (const b of ["with backups", "empty"] as const) expect(await bed.s3.objectDigests(buckets[b].name)).toEqual(objectsBefore[b]);
  });
});
