import { expect } from "vitest";
import { RestoredCloneContainer } from "postgres-pgbackrest";
import { scenarioWithPrimary } from "postgres-pgbackrest/fixtures";

// A testbed (network and S3 server) and a primary backing up to its own bucket, for this file.
const it = scenarioWithPrimary({ bucket: "downstream", ready: "started" });

it("backs up our schema, and a clone restored from the bucket has our rows #installable-fixtures", async ({ bed, db }) => {
  await db.sql("CREATE TABLE customers (id int PRIMARY KEY, name text)");
  await db.sql("INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 250) g");
  const [full] = await db.waitForBackups("full");
  expect(full.label).toMatch(/F$/);
  await db.archiveCurrentWal();
  await using clone = await new RestoredCloneContainer(bed.image, db).withNetwork(bed.network).start();
  expect(await clone.sql("SELECT count(*)::int AS n FROM customers")).toEqual([{ n: 250 }]);
});
