import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OneShotContainer, type BucketConfig, BackupTestbed, type StartedBackupTestbed } from "../harness/index.js";

interface BadConfig {
  what: string;
  env: Record<string, string | undefined>;
  /** What the one error line must contain: the variable, the value, and the fix. */
  line: RegExp;
}

/** Each case starts from a valid backup configuration and breaks one thing. */
const cases: BadConfig[] = [
  { what: "backups enabled without a bucket", env: { S3_BUCKET: undefined }, line: /S3_BUCKET: is required because PGBACKREST_STANZA="main" enables backups\. Fix: set S3_BUCKET/ },
  { what: "an unknown PG_MODE", env: { PG_MODE: "standby" }, line: /PG_MODE="standby": expected one of primary, replica\. Fix: set PG_MODE to one of primary, replica, or unset it for the default \(primary\)/ },
  { what: "a non-numeric RETENTION_FULL", env: { RETENTION_FULL: "abc" }, line: /RETENTION_FULL="abc": expected a whole number 1-9999999\. Fix: .*default \(4\)/ },
  { what: "a cron expression that is not one", env: { BACKUP_SCHEDULE_INCR: "every 5 minutes" }, line: /BACKUP_SCHEDULE_INCR="every 5 minutes": expected a cron expression .* or "off"\. Fix:/ },
  { what: "a password and a password file at once", env: { POSTGRES_PASSWORD: "pw", POSTGRES_PASSWORD_FILE: "/run/secrets/pw" }, line: /POSTGRES_PASSWORD: both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set, but they are exclusive\. Fix: set only one of them/ },
  { what: "a password file that does not exist", env: { POSTGRES_PASSWORD: undefined, POSTGRES_PASSWORD_FILE: "/run/secrets/missing" }, line: /POSTGRES_PASSWORD_FILE: "\/run\/secrets\/missing" cannot be read \(ENOENT\)\. Fix: mount the secret file/ },
  { what: "a bucket without a stanza", env: { PGBACKREST_STANZA: undefined }, line: /S3_BUCKET="[a-z0-9-]+": is set but PGBACKREST_STANZA is not, so no backup would ever be taken\. Fix: set PGBACKREST_STANZA/ },
  { what: "restore and replica at once", env: { RESTORE_FROM_BACKUP: "true", PG_MODE: "replica" }, line: /RESTORE_FROM_BACKUP=true with PG_MODE=replica: .*Fix: unset RESTORE_FROM_BACKUP for a replica/ },
  { what: "an unknown S3 URI style", env: { S3_URI_STYLE: "virtual" }, line: /S3_URI_STYLE="virtual": expected one of host, path\./ },
  { what: "a missing S3 secret key", env: { S3_SECRET_KEY: undefined }, line: /S3_SECRET_KEY: is required .*Fix: set S3_SECRET_KEY \(or S3_SECRET_KEY_FILE\)/ },
  { what: "zstd instead of zst", env: { PGBACKREST_COMPRESS_TYPE: "zstd" }, line: /PGBACKREST_COMPRESS_TYPE="zstd": expected one of zst, lz4, gz, bz2, none\./ },
  { what: "a unit in ARCHIVE_TIMEOUT", env: { ARCHIVE_TIMEOUT: "60s" }, line: /ARCHIVE_TIMEOUT="60s": expected a whole number 1-86400\./ },
  { what: "a port out of range", env: { POSTGRES_PORT: "70000" }, line: /POSTGRES_PORT="70000": expected a whole number 1-65535\./ },
];

describe("@config-errors invalid configuration stops the container before it touches anything", () => {
  let bed: StartedBackupTestbed;
  let bucket: BucketConfig;
  let image: string;
  let untouched: string[];

  beforeAll(async () => {
    bed = await new BackupTestbed().start();
    image = bed.image;
    bucket = await bed.s3.createBucket("config-errors");
    // What /var/lib/postgresql holds in a container whose entrypoint did nothing.
    untouched = (await new OneShotContainer(image).withCommand(["true"]).withListing("/var/lib/postgresql").run()).listings["/var/lib/postgresql"];
  });

  afterAll(async () => {
    await bed?.stop();
  });

  it.each(cases)("refuses $what", async ({ env, line }) => {
    const valid: Record<string, string | undefined> = { POSTGRES_PASSWORD: "pw", PGBACKREST_STANZA: "main", ...bucket.env };
    const merged = Object.fromEntries(Object.entries({ ...valid, ...env }).filter((e): e is [string, string] => e[1] !== undefined));
    const result = await new OneShotContainer(image)
      .withNetwork(bed.network.getName())
      .withEnvironment(merged)
      .withFile(bucket.caFile.target, bucket.caFile.content)
      .withListing("/var/lib/postgresql")
      .run();

    expect(result.exitCode).toBe(78);
    const errorLines = result.output.split("\n").filter((l) => /error/i.test(l));
    expect(errorLines, result.output).toHaveLength(1);
    expect(errorLines[0]).toMatch(/^postgres-ba: configuration error: /);
    expect(errorLines[0]).toMatch(line);
    expect(result.output).not.toContain(bucket.env.S3_SECRET_KEY);
    // Nothing was created: no data directory content, no certificates.
    expect(result.listings["/var/lib/postgresql"]).toEqual(untouched);
  });

  it("leaves the bucket empty", async () => {
    expect(await bed.s3.listObjects(bucket.name)).toEqual([]);
  });
});
