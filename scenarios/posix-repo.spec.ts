/**
 * REPO_TYPE=posix: the repository in a directory (here a named volume, mounted as an NFS share or
 * a second disk would be): the stanza, the first full backup and archived WAL land there, and a
 * new container restores every row from it.
 */
import { randomBytes } from "node:crypto";
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { noSchedule, OneShotContainer, removeVolume, type StartedPrimaryContainer } from "../harness/index.js";

const repoVolume = `posix-repo-${randomBytes(4).toString("hex")}`;
const repoDir = "/var/lib/pgbackrest-repo";

describe("@posix-repo a repository in a mounted directory instead of a bucket #posix-repo", () => {
  let db: StartedPrimaryContainer;

  it.beforeAll(async ({ bed }) => {
    db = await bed.primary().withRepositoryVolume(repoVolume, repoDir).withSchedule(noSchedule).start();
    await db.waitForBackups("full");
  });

  it.afterAll(async () => {
    await db?.stop({ removeVolumes: true });
    await removeVolume(repoVolume);
  });

  it("keeps the stanza, the first full backup and archived WAL in the directory", async ({ bed }) => {
    await db.sql("CREATE TABLE on_disk AS SELECT generate_series(1, 3000) AS id");
    const segment = await db.archiveCurrentWal();
    const listing = (await new OneShotContainer(bed.image).withEntrypoint("true").withVolume(repoVolume, repoDir).withListing(repoDir).run()).listings[repoDir];
    expect(listing).toContain("backup/main/backup.info");
    expect(listing.some((entry) => /^backup\/main\/\d{8}-\d{6}F\/backup\.manifest$/.test(entry))).toBe(true);
    expect(listing.some((entry) => entry.startsWith(`archive/main/18-1/${segment.slice(0, 16)}/${segment}-`))).toBe(true);
  });

  it("stops a start whose repository directory is a read-only mount: exit 73, one line naming REPO_PATH", async ({ bed }) => {
    const r = await new OneShotContainer(bed.image)
      .withVolume(repoVolume, repoDir, { readOnly: true })
      .withEnvironment({ POSTGRES_PASSWORD: "pw", PGBACKREST_STANZA: "other", REPO_TYPE: "posix", REPO_PATH: repoDir })
      .withListing("/var/lib/postgresql")
      .run(60_000);
    expect(r.exitCode, r.output).toBe(73);
    expect(r.output.split("\n").filter((line) => line.includes("ERROR"))).toEqual([
      expect.stringMatching(
        /check-permissions: ERROR: REPO_PATH \/var\/lib\/pgbackrest-repo is on a read-only mount .*Fix: mount \/var\/lib\/pgbackrest-repo read-write\.$/,
      ),
    ]);
    // The image's own empty PGDATA, nothing more: nothing was initialized.
    expect(r.listings["/var/lib/postgresql"]).toEqual(["", "18", "18/docker"]);
  });

  it("restores every row from it into a new container", async ({ bed }) => {
    await using clone = await bed
      .primary()
      .withRepositoryVolume(repoVolume, repoDir)
      .withEnvironment({ REPO_READ_ONLY: "true", RESTORE_FROM_BACKUP: "true" })
      .start();
    expect(await clone.sql("SELECT count(*)::int AS n FROM on_disk")).toEqual([{ n: 3000 }]);
  });
});
