import { randomBytes } from "node:crypto";
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { baseImage } from "../harness/base-image.js";
import { OneShotContainer, PrimaryContainer, removeVolume, type BucketConfig, type StartedPrimaryContainer, noSchedule } from "../harness/index.js";

/** What the official image's entrypoint does on first start, reduced to plain initdb and postgres. */
const officialStyleInit = `
set -euo pipefail
initdb -D "$PGDATA" --username=legacy --pwfile=<(printf '%s\\n' legacy-pw) > /dev/null
printf '\\nhost all all all scram-sha-256\\n' >> "$PGDATA/pg_hba.conf"
pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start > /dev/null
psql -v ON_ERROR_STOP=1 -U legacy -d postgres -c 'CREATE DATABASE legacy' > /dev/null
psql -v ON_ERROR_STOP=1 -U legacy -d legacy -c "CREATE TABLE customers (id int PRIMARY KEY, name text); INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Edsger')" > /dev/null
pg_ctl -D "$PGDATA" -w -m fast stop > /dev/null
echo created-by-plain-initdb
`;

describe("@adopt-existing a database created by the official image is adopted, backups start on request", () => {
  let bucket: BucketConfig;
  let image: string;
  let adopted: StartedPrimaryContainer;
  const volume = `adopt-${randomBytes(4).toString("hex")}`;

  it.beforeAll(async ({ bed }) => {
    image = bed.image;
    bucket = await bed.s3.createBucket("adopt");
    const made = await new OneShotContainer(await baseImage())
      .withVolume(volume, "/var/lib/postgresql")
      .withUser("postgres")
      .withCommand(["bash", "-c", officialStyleInit])
      .run();
    expect(made.output.trim().split("\n").pop(), made.output).toBe("created-by-plain-initdb");
    adopted = await new PrimaryContainer(image)
      .withNetwork(bed.network)
      .withDataVolume(volume)
      .withBucket(bucket)
      .withUsername("legacy")
      .withPassword("legacy-pw")
      .withDatabase("legacy")
      .withSchedule({ incr: "*/10 * * * * *" })
      .start();
  });

  it.afterAll(async () => {
    await adopted?.stop();
    await removeVolume(volume);
  });

  it("starts the existing data with its users and rows, TLS on and archiving configured", async () => {
    expect(await adopted.sql("SELECT name FROM customers ORDER BY id")).toEqual([{ name: "Ada" }, { name: "Grace" }, { name: "Edsger" }]);
    const [row] = await adopted.sql<{ ssl: boolean; archive_mode: string; wal_level: string }>(
      "SELECT ssl, current_setting('archive_mode') AS archive_mode, current_setting('wal_level') AS wal_level FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    expect(row).toEqual({ ssl: true, archive_mode: "on", wal_level: "replica" });
  });

  it("takes no backup by itself and prints the one command that starts them #adopt-no-backup", async ({ bed }) => {
    const logs = await adopted.waitForLog(/bootstrap-backups: /);
    expect(logs).toContain(
      "bootstrap-backups: skipped: this data directory was not created by this image; to start backups run: docker exec <container> postgres-ba init-backups",
    );
    expect(await bed.s3.listObjects(bucket.name)).toEqual([]);
  });

  it("postgres-ba init-backups creates the stanza and the first full backup, then the schedule runs #adopt-init-backups", async () => {
    const r = await adopted.exec(["postgres-ba", "init-backups"]);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toContain("stanza main created and first full backup taken");
    // Exactly one full, first (the 10-second schedule may already have added an incremental).
    const types = (await adopted.backups()).map((b) => b.type);
    expect(types[0]).toBe("full");
    expect(types.filter((t) => t === "full")).toHaveLength(1);
    const [{ archive_command }] = await adopted.sql<{ archive_command: string }>("SHOW archive_command");
    expect(archive_command).toBe("/usr/bin/pgbackrest --stanza=main archive-push %p");
    await adopted.waitForBackups("incr", 1, 60_000);
  });

  it("refuses to take over the stanza from another cluster, changing nothing in the bucket #foreign-stanza-refused", async ({ bed }) => {
    await using stranger = await bed.primary(bucket).withSchedule(noSchedule).start();
    const logs = await stranger.waitForLog(/bootstrap-backups: ERROR/);
    expect(logs).toMatch(
      /bootstrap-backups: ERROR: failed \(attempt 1\): stanza main in s3:\/\/adopt-[0-9a-f]+\/pgbackrest belongs to another cluster \(system id \d+; this database is \d+\); nothing in the repository was changed\. Fix: give this database its own S3_PATH or PGBACKREST_STANZA/,
    );
    const again = await stranger.exec(["postgres-ba", "init-backups"]);
    expect(again.exitCode).not.toBe(0);
    expect(again.output).toMatch(/belongs to another cluster/);
    // The stanza still knows exactly one cluster, the adopted one (the adopted database's own
    // schedule keeps adding backups, so the object list itself is not a fixed point here).
    const [{ id }] = await adopted.sql<{ id: string }>("SELECT system_identifier::text AS id FROM pg_control_system()");
    expect((await adopted.stanzaInfo())!.db.map((d) => d["system-id"])).toEqual([id]);
  });
});
