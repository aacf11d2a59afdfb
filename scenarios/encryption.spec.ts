/**
 * REPO_CIPHER_PASS encrypts the repository (aes-256-cbc): nothing pgBackRest writes to the bucket
 * is readable plaintext, a restore with the passphrase brings every row back, and a passphrase
 * that does not fit the stanza (wrong, or missing) is refused with one line before anything is
 * written. The passphrase comes from a file, as from a Docker secret.
 */
import { randomBytes } from "node:crypto";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect } from "vitest";
import { scenarioWithPrimary } from "../harness/fixtures.js";
import { noSchedule, OneShotContainer, RestoredCloneContainer, removeVolume } from "../harness/index.js";

const passphrase = "encryption-spec-passphrase-4be1";
const volume = `encryption-${randomBytes(4).toString("hex")}`;

const it = scenarioWithPrimary({
  bucket: "encrypted",
  configure: (p) =>
    p
      .withSchedule(noSchedule)
      .withDataVolume(volume)
      .withEnvironment({ REPO_CIPHER_PASS_FILE: "/run/secrets/repo-pass" })
      .withCopyContentToContainer([{ content: `${passphrase}\n`, target: "/run/secrets/repo-pass", mode: 0o644 }]),
  ready: "first-full",
});

describe("@encryption REPO_CIPHER_PASS: an encrypted repository, restored with its passphrase and refused without it", () => {
  let rows = 0;

  it.afterAll(async ({ db }) => {
    await db.stop();
    await removeVolume(volume);
  });

  it("stores nothing readable: every object in the repository is ciphertext #repo-encrypted", async ({ db, bed, bucket }) => {
    await db.sql("CREATE TABLE secret_rows AS SELECT g AS id, 'plaintext-marker-' || g AS body FROM generate_series(1, 5000) g");
    rows = 5000;
    await db.archiveCurrentWal();
    const keys = await bed.s3.listObjects(bucket.name, "pgbackrest/");
    expect(keys.some((k) => k.endsWith("/backup/main/backup.info"))).toBe(true);
    expect(keys.some((k) => k.includes("/archive/main/18-1/"))).toBe(true);
    const plaintext: string[] = [];
    for (const key of keys) {
      const object = await bed.s3.client.send(new GetObjectCommand({ Bucket: bucket.name, Key: key }));
      const body = Buffer.from(await object.Body!.transformToByteArray());
      // pgBackRest's encrypted files start with OpenSSL's "Salted__" (an info file in the clear
      // starts with "[backrest]"). A bundle may start with a block-incremental file, whose blocks
      // are encrypted without that header: it must not start as a bare zstd frame (28 b5 2f fd),
      // as it would compressed but not encrypted.
      const start = body.subarray(0, 8).toString("latin1");
      const ciphertext = key.includes("/bundle/") ? !body.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])) : start === "Salted__";
      if (body.length > 0 && !ciphertext) plaintext.push(`${key} starts with ${body.subarray(0, 8).toString("hex")}`);
      if (body.includes("plaintext-marker-") || body.includes("[backrest]")) plaintext.push(`${key} holds plaintext`);
    }
    expect(plaintext, "objects that are not ciphertext").toEqual([]);
    const info = await db.execOk(["postgres-ba", "info", "--json"]);
    expect(info.output).toMatch(/"cipher"\s*:\s*"aes-256-cbc"/);
    expect(await db.logText()).not.toContain(passphrase);
  });

  it("restores every row with the passphrase #encrypted-restore", async ({ db, bed }) => {
    await using clone = await new RestoredCloneContainer(bed.image, db).withNetwork(bed.network).withEnvironment({ REPO_CIPHER_PASS: passphrase }).start();
    expect(await clone.sql("SELECT count(*)::int AS n FROM secret_rows")).toEqual([{ n: rows }]);
  });

  it("refuses a restore with a wrong passphrase before writing anything: exit 69, one line #encryption-mismatch", async ({ bed, bucket }) => {
    const objects = await bed.s3.objectDigests(bucket.name);
    const result = await new OneShotContainer(bed.image)
      .withNetwork(bed.network.getName())
      .withEnvironment({
        ...bucket.env,
        PGBACKREST_STANZA: "main",
        POSTGRES_PASSWORD: "pw",
        RESTORE_FROM_BACKUP: "true",
        REPO_CIPHER_PASS: "not-the-passphrase",
      })
      .withFile(bucket.caFile.target, bucket.caFile.content)
      .withListing("/var/lib/postgresql/18/docker")
      .run();
    expect(result.exitCode, result.output).toBe(69);
    expect(result.output).toMatch(
      /RESTORE_FROM_BACKUP=true: REPO_CIPHER_PASS does not decrypt stanza main in s3:\/\/encrypted-[0-9a-f]+\/pgbackrest: it is not the passphrase the stanza was created with\. Fix: set REPO_CIPHER_PASS to that passphrase/,
    );
    expect(result.output).not.toContain("not-the-passphrase");
    // PGDATA as the container found it: empty.
    expect(result.listings["/var/lib/postgresql/18/docker"]).toEqual([""]);
    expect(await bed.s3.objectDigests(bucket.name)).toEqual(objects);
  });

  it("refuses to start the primary without its passphrase: exit 78, one line, the data as it was #encryption-mismatch", async ({ db, bed, bucket }) => {
    await db.stop();
    const objects = await bed.s3.objectDigests(bucket.name);
    const pgdata = "/var/lib/postgresql/18/docker";
    const withoutPassphrase = new OneShotContainer(bed.image)
      .withNetwork(bed.network.getName())
      .withEnvironment({ ...bucket.env, PGBACKREST_STANZA: "main", POSTGRES_USER: db.getUsername(), POSTGRES_PASSWORD: db.getPassword() })
      .withFile(bucket.caFile.target, bucket.caFile.content)
      .withVolume(volume, "/var/lib/postgresql");
    const before = (await new OneShotContainer(bed.image).withEntrypoint("true").withVolume(volume, "/var/lib/postgresql").withDigest(pgdata).run()).digests[
      pgdata
    ];
    const result = await withoutPassphrase.withDigest(pgdata).run();
    expect(result.exitCode, result.output).toBe(78);
    expect(result.stderr.split("\n").filter((line) => line.includes("ERROR"))).toEqual([
      expect.stringMatching(
        /check-primary-role: ERROR: stanza main in s3:\/\/encrypted-[0-9a-f]+\/pgbackrest is encrypted, but no passphrase is set\. Fix: set REPO_CIPHER_PASS \(or REPO_CIPHER_PASS_FILE\)/,
      ),
    ]);
    expect(result.digests[pgdata]).toEqual(before);
    expect(await bed.s3.objectDigests(bucket.name)).toEqual(objects);
  });
});
