import { afterAll, beforeAll, expect, it } from "vitest";
import { BackupTestbed, RestoredCloneContainer, type StartedBackupTestbed, type StartedPrimaryContainer } from "postgres-pgbackrest";

let bed: StartedBackupTestbed;
let db: StartedPrimaryContainer;

beforeAll(async () => {
  bed = await new BackupTestbed().start();
  db = await bed.primary(await bed.s3.createBucket("downstream")).start();
});

afterAll(async () => {
  await db?.stop({ removeVolumes: true });
  await bed?.stop();
});

it("backs up our schema, and a clone restored from the bucket has our rows #installable-fixtures", async () => {
  await db.sql("CREATE TABLE customers (id int PRIMARY KEY, name text)");
  await db.sql("INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 250) g");
  const [full] = await db.waitForBackups("full");
  expect(full.label).toMatch(/F$/);
  await db.archiveCurrentWal();
  await using clone = await new RestoredCloneContainer(bed.image, db).withNetwork(bed.network).start();
  expect(await clone.sql("SELECT count(*)::int AS n FROM customers")).toEqual([{ n: 250 }]);
});
