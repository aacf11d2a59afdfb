/**
 * REPO_TYPE=azure: the repository in a blob container of an Azure storage account, proven against
 * Azurite (Microsoft's emulator, which checks shared-key signatures like Azure): the stanza, the
 * first full backup and archived WAL land there as blobs, a new container restores every row from
 * them, a passphrase that does not fit the stanza and a wrong account key are each refused with one
 * line that names the variables, never the secret.
 */
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import {
  AzuriteContainer,
  type BlobContainerConfig,
  noSchedule,
  OneShotContainer,
  RestoredCloneContainer,
  type StartedAzuriteContainer,
  type StartedPrimaryContainer,
} from "../harness/index.js";

let azurite: StartedAzuriteContainer;
let repository: BlobContainerConfig;
let db: StartedPrimaryContainer;

it.beforeAll(async ({ bed }) => {
  azurite = await new AzuriteContainer().withNetwork(bed.network).start();
  repository = await azurite.createContainer("pg");
  db = await bed.primary(repository).withSchedule(noSchedule).start();
  await db.waitForBackups("full");
});

it.afterAll(async () => {
  await db?.stop({ removeVolumes: true });
  await azurite?.stop();
});

describe("@azure-repo a repository in an Azure blob container #azure-repo", () => {
  it("keeps the stanza, the first full backup and archived WAL as blobs in the container", async () => {
    await db.sql("CREATE TABLE in_azure AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 20000) g");
    const segment = await db.archiveCurrentWal();
    const blobs = await azurite.listBlobs(repository.name);
    expect(blobs).toContain("pgbackrest/backup/main/backup.info");
    expect(blobs.some((name) => /^pgbackrest\/backup\/main\/\d{8}-\d{6}F\/backup\.manifest$/.test(name))).toBe(true);
    expect(blobs.some((name) => name.startsWith(`pgbackrest/archive/main/18-1/${segment.slice(0, 16)}/${segment}-`))).toBe(true);
    // status reads the same repository back through pgBackRest: reachable, with that full backup and no problem.
    const status = await db.statusJson<{ repository: { reachable: boolean }; latest: { full?: { label: string } }; problems: string[] }>();
    expect(status.exitCode, JSON.stringify(status.json)).toBe(0);
    expect(status.json.repository.reachable).toBe(true);
    expect(blobs).toContain(`pgbackrest/backup/main/${status.json.latest.full?.label}/backup.manifest`);
    expect(status.json.problems).toEqual([]);
  });

  it("restores every row into a new container from the blobs", async ({ bed }) => {
    await db.sql("INSERT INTO in_azure SELECT g, md5(g::text) FROM generate_series(20001, 25000) g");
    await db.archiveCurrentWal();
    await using clone = await new RestoredCloneContainer(bed.image, db).withNetwork(bed.network).start();
    expect(await clone.sql("SELECT count(*)::int AS n, sum(id)::bigint AS total FROM in_azure")).toEqual([{ n: 25000, total: String((25000 * 25001) / 2) }]);
  });

  it("refuses a restore with a passphrase on its unencrypted stanza before writing anything: exit 69, one line #azure-encryption-mismatch", async ({ bed }) => {
    const before = await azurite.listBlobs(repository.name);
    const result = await new OneShotContainer(bed.image)
      .withNetwork(bed.network.getName())
      .withEnvironment({
        ...repository.env,
        PGBACKREST_STANZA: "main",
        POSTGRES_PASSWORD: "pw",
        RESTORE_FROM_BACKUP: "true",
        REPO_CIPHER_PASS: "a-passphrase-4d2e",
      })
      .withFile(repository.caFile.target, repository.caFile.content)
      .withListing("/var/lib/postgresql/18/docker")
      .run();
    expect(result.exitCode, result.output).toBe(69);
    expect(result.output).toMatch(
      /RESTORE_FROM_BACKUP=true: stanza main in azure:\/\/pgbackrestci\/pg-[0-9a-f]+\/pgbackrest was created without encryption, and pgBackRest cannot encrypt an existing stanza\. Fix: unset REPO_CIPHER_PASS for this stanza, or give an encrypted repository its own AZURE_PATH or PGBACKREST_STANZA/,
    );
    expect(result.output).not.toContain("a-passphrase-4d2e");
    expect(result.listings["/var/lib/postgresql/18/docker"]).toEqual([""]);
    expect(await azurite.listBlobs(repository.name)).toEqual(before);
  });

  it("refuses a wrong account key with one line naming AZURE_ACCOUNT and AZURE_KEY, serves anyway, and writes no blob #azure-wrong-key", async ({ bed }) => {
    const wrongKey = Buffer.from("not-the-account-key-7c1e").toString("base64");
    const empty = await azurite.createContainer("wrong-key");
    const other = await bed
      .primary({ ...empty, env: { ...empty.env, AZURE_KEY: wrongKey } })
      .withSchedule(noSchedule)
      .start();
    try {
      const refused =
        /Azure refused the credentials for azure:\/\/pgbackrestci\/wrong-key-[0-9a-f]+\/pgbackrest at azurite:10000 \(.*403.*\)\. Fix: check AZURE_ACCOUNT and AZURE_KEY/;
      const failure = (await other.waitForLog(/bootstrap-backups: ERROR: .*/)).match(/bootstrap-backups: ERROR: .*/)?.[0];
      expect(failure).toMatch(refused);
      const check = await other.exec(["postgres-ba", "check"]);
      expect(check.exitCode, check.output).toBe(69);
      expect(check.output).toMatch(refused);
      expect(await other.sql("SELECT pg_is_in_recovery() AS standby")).toEqual([{ standby: false }]);
      expect(await azurite.listBlobs(empty.name)).toEqual([]);
      expect(`${await other.logText()}\n${check.output}`).not.toContain(wrongKey);
      expect(`${await db.logText()}`).not.toContain(azurite.secret);
    } finally {
      await other.stop({ removeVolumes: true });
    }
  });
});
