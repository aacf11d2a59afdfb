/**
 * No request is silently dropped: PGBACKREST_* options the image does not set itself reach every
 * pgBackRest process. Encryption asked for gives an encrypted repository: backups (the runtime's
 * pgBackRest) and WAL (PostgreSQL's archive_command) are stored encrypted, and the passphrase
 * appears in no log and no `postgres-ba env` line.
 */
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect } from "vitest";
import { scenarioWithPrimary } from "../harness/fixtures.js";
import type { BucketConfig, StartedBackupTestbed } from "../harness/index.js";

const passphrase = "pgbackrest-options-passphrase-8c1f";

const it = scenarioWithPrimary({
  bucket: "options",
  configure: (p) =>
    p.withEnvironment({ PGBACKREST_REPO1_CIPHER_TYPE: "aes-256-cbc", PGBACKREST_REPO1_CIPHER_PASS: passphrase, PGBACKREST_ARCHIVE_TIMEOUT: "90" }),
  ready: "first-full",
});

/** The first bytes of an object: pgBackRest's encrypted files start with OpenSSL's "Salted__". */
async function head(bed: StartedBackupTestbed, bucket: BucketConfig, key: string): Promise<string> {
  const object = await bed.s3.client.send(new GetObjectCommand({ Bucket: bucket.name, Key: key, Range: "bytes=0-7" }));
  return Buffer.from(await object.Body!.transformToByteArray()).toString("latin1");
}

describe("@pgbackrest-options PGBACKREST_* options reach pgBackRest: an encrypted repository when encryption is asked for #pgbackrest-passthrough", () => {
  it("stores backups encrypted and pgBackRest reports the cipher #encrypted-when-asked", async ({ db, bed, bucket }) => {
    const info = await db.execOk(["postgres-ba", "info", "--json"]);
    expect(info.output).toMatch(/"cipher"\s*:\s*"aes-256-cbc"/);
    const keys = await bed.s3.listObjects(bucket.name);
    const backupInfo = keys.find((k) => k.endsWith("/backup/main/backup.info"));
    expect(backupInfo, keys.join("\n")).toBeDefined();
    expect(await head(bed, bucket, backupInfo!)).toBe("Salted__");
    const manifest = keys.find((k) => /\/backup\/main\/\d{8}-\d{6}F\/backup\.manifest$/.test(k));
    expect(manifest, keys.join("\n")).toBeDefined();
    expect(await head(bed, bucket, manifest!)).toBe("Salted__");
  });

  it("archives WAL through archive_command into the encrypted repository", async ({ db, bed, bucket }) => {
    const segment = await db.archiveCurrentWal();
    const [archiver] = await db.sql<{ failed: string }>("SELECT failed_count::text AS failed FROM pg_stat_archiver");
    expect(archiver.failed).toBe("0");
    const keys = await bed.s3.listObjects(bucket.name);
    const wal = keys.find((k) => k.includes("/archive/main/") && k.split("/").pop()!.startsWith(segment));
    expect(wal, keys.filter((k) => k.includes("/archive/")).join("\n")).toBeDefined();
    expect(await head(bed, bucket, wal!)).toBe("Salted__");
  });

  it("lists the passed options in postgres-ba env with the passphrase masked, and never logs it #env-masking", async ({ db }) => {
    const env = (await db.execOk(["postgres-ba", "env"])).output;
    expect(env).toContain("PGBACKREST_REPO1_CIPHER_TYPE=aes-256-cbc  # pgBackRest repo1-cipher-type");
    expect(env).toContain("PGBACKREST_REPO1_CIPHER_PASS=<set>  # pgBackRest repo1-cipher-pass");
    expect(env).toContain("PGBACKREST_ARCHIVE_TIMEOUT=90  # pgBackRest archive-timeout");
    expect(env).not.toContain(passphrase);
    const logs = await db.logText();
    // The log was read (a known line is there) and the passphrase is not in it.
    expect(logs).toMatch(/init-backups: stanza main ready/);
    expect(logs).not.toContain(passphrase);
    // Nor does pgbackrest.conf hold it: it reaches pgBackRest only through its environment.
    const conf = (await db.execOk(["cat", "/etc/pgbackrest/pgbackrest.conf"])).output;
    expect(conf).toContain("repo1-type=s3");
    expect(conf).not.toContain("cipher");
  });
});
