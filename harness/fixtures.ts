/**
 * Scenario setup as vitest fixtures, so a spec names what it starts from instead of copying the
 * start and stop blocks. The fixtures are file-scoped: set up once before the file's first test
 * that needs them (and before `it.beforeAll` hooks that name them), shared by its later tests
 * (scenarios build on what earlier tests did), torn down after its last test, primary before
 * testbed.
 *
 *   const test = scenarioWithPrimary({ bucket: "types", configure: (p) => p.withSchedule(noSchedule) });
 *   test("takes a full backup", async ({ db }) => { ... });
 *
 * Downstream projects import these from `postgres-pgbackrest/fixtures`.
 */
import { test as vitestTest } from "vitest";
import type { PrimaryContainer } from "./primary.js";
import { BackupTestbed } from "./testbed.js";

/** `bed`: one network, one S3 server and the product image for the file (see BackupTestbed). */
export const scenario = vitestTest.extend(
  "bed",
  { scope: "file" },
  async (
    // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern; the testbed has none.
    {},
    { onCleanup },
  ) => {
    const bed = await new BackupTestbed().start();
    onCleanup(() => bed.stop());
    return bed;
  },
);

export interface PrimaryFixtureOptions {
  /** Prefix of the bucket's name (a random suffix is added). */
  bucket: string;
  /** Settings beyond the testbed's defaults. */
  configure?: (primary: PrimaryContainer) => PrimaryContainer;
  /**
   * What `db` waits for before the first test gets it: the runtime's record that backups are
   * active (the stanza exists and the first full backup's command has exited), only the first
   * full backup listed in the repository, or nothing beyond a server that accepts connections
   * (for specs that watch the first backup happen).
   */
  ready?: "backups-active" | "first-full" | "started";
}

/** `bed`, plus `bucket` and `db`: a primary backing up to that bucket, started and ready. */
export function scenarioWithPrimary({ bucket, configure = (p) => p, ready = "backups-active" }: PrimaryFixtureOptions) {
  return (
    scenario
      .extend("bucket", { scope: "file" }, async ({ bed }) => bed.s3.createBucket(bucket))
      // auto: started before the file's first test even if that test only reads the bucket.
      .extend("db", { scope: "file", auto: true }, async ({ bed, bucket }, { onCleanup }) => {
        const db = await configure(bed.primary(bucket)).start();
        try {
          if (ready === "backups-active") await db.waitForBackupsActive();
          if (ready === "first-full") await db.waitForBackups("full");
        } catch (e) {
          // vitest runs onCleanup only once the fixture has returned: a primary that never got
          // ready is removed here, or its container would keep the testbed's network in use.
          await db.stop({ removeVolumes: true });
          throw e;
        }
        onCleanup(async () => {
          await db.stop({ removeVolumes: true });
        });
        return db;
      })
  );
}
