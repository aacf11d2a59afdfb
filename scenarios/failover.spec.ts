import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BackupTestbed, ClusterContainer, OneShotContainer, RestoredCloneContainer, caDir, pollUntil,
  type StartedBackupTestbed, type StartedCluster, type StartedReplicaContainer,
} from "../harness/index.js";

// One cluster for both capabilities: the failover, then the old primary coming back.
let bed: StartedBackupTestbed;
let cluster: StartedCluster;
let promoted: StartedReplicaContainer;
let promoteOutput: string;

beforeAll(async () => {
  bed = await new BackupTestbed().start();
  cluster = await new ClusterContainer(bed).withReplicas(1).start();
  promoted = cluster.replicas[0];
  await promoted.waitForStreaming();
  await cluster.primary.sql("CREATE TABLE ledger (id int PRIMARY KEY, note text)");
  await cluster.primary.sql("INSERT INTO ledger SELECT g, 'before failover' FROM generate_series(1, 100) g");
  await promoted.waitForReplay(await cluster.primary.walLsn());
  // The primary's host dies: killed, no clean shutdown. Its data volume survives.
  await cluster.primary.stop();
  promoteOutput = (await promoted.promote()).output;
  await promoted.sql("INSERT INTO ledger SELECT g, 'after failover' FROM generate_series(101, 150) g");
});

afterAll(async () => {
  await cluster?.stop();
  await bed?.stop();
});

describe("@failover postgres-ba promote makes a replica the primary, and backups resume on the new timeline", () => {
  it("promotes with one command that returns after the stanza check and a full backup", () => {
    expect(promoteOutput).toMatch(/promoted in [\d.]+ s: writable primary on timeline 2/);
    expect(promoteOutput).toMatch(/promoted to a primary on timeline 2: role replicator ready .*; stanza main accepts timeline 2 \(pgbackrest check archived its WAL\), full backup \d{8}-\d{6}F taken/);
  });

  it("accepts writes and kept every row replicated before the failover", async () => {
    const [row] = await promoted.sql<{ before: string; after: string; recovery: boolean }>(
      "SELECT count(*) FILTER (WHERE note = 'before failover') AS before, count(*) FILTER (WHERE note = 'after failover') AS after, pg_is_in_recovery() AS recovery FROM ledger");
    expect(row).toEqual({ before: "100", after: "50", recovery: false });
  });

  it("lists a full backup taken on the new timeline in the same stanza", async () => {
    const backups = await promoted.backups();
    expect(backups.map((b) => b.type)).toEqual(["full", "full"]);
    expect(backups[0].archive.start.slice(0, 8)).toBe("00000001");
    expect(backups[1].archive.start.slice(0, 8)).toBe("00000002");
  });

  it("archives WAL of the new timeline", async () => {
    const segment = await promoted.archiveCurrentWal();
    expect(segment.slice(0, 8)).toBe("00000002");
    const keys = await pollUntil(`segment ${segment} in the bucket`, async () => {
      const k = await bed.s3.listObjects(cluster.bucket.name, "pgbackrest/archive/main/");
      return k.some((key) => key.includes(`/${segment}-`)) ? k : undefined;
    });
    expect(keys).toContain("pgbackrest/archive/main/18-1/00000002.history");
  });

  it("restores a clone from the new timeline with the rows written after promotion", async () => {
    await promoted.archiveCurrentWal();
    await using clone = await new RestoredCloneContainer(bed.image, promoted).withNetwork(bed.network).start();
    const [row] = await clone.sql<{ after: string; total: string }>("SELECT count(*) FILTER (WHERE note = 'after failover') AS after, count(*) AS total FROM ledger");
    expect(row).toEqual({ after: "50", total: "150" });
  });

  it("stays the primary after a restart with PG_MODE=replica unchanged, and runs the schedule", async () => {
    await promoted.restart();
    await promoted.sql("INSERT INTO ledger VALUES (151, 'after restart')");
    const logs = await promoted.waitForLog(/schedule: started[\s\S]*schedule: started/);
    expect(logs).toMatch(/rejoin-as-replica: skipped: this data directory is a primary \(timeline 2\) and PRIMARY_HOST primary cannot be compared with it \(unreachable: .*\): it stays a primary/);
    expect(logs).toMatch(/check-primary-role: primary on timeline 2; the repository's newest timeline for this cluster is 2/);
  });
});

describe("@rejoin the old primary comes back as a replica of the new one, never as a second primary", () => {
  it("refuses to start the old primary as a primary: the repository holds a newer timeline", async () => {
    const result = await new OneShotContainer(bed.image)
      .withNetwork(bed.network.getName())
      .withEnvironment({ ...cluster.bucket.env, PGBACKREST_STANZA: "main", SERVER_NAME: "primary" })
      .withFile(cluster.bucket.caFile.target, cluster.bucket.caFile.content)
      .withVolume(cluster.primaryVolume, "/var/lib/postgresql")
      .withVolume(cluster.caVolume, caDir)
      .run();
    expect(result.exitCode, result.output).toBe(73);
    const errors = result.output.split("\n").filter((l) => /ERROR/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/stanza main holds WAL of timeline 2 of this cluster, newer than this data directory's timeline 1: .* Fix: start this container with PG_MODE=replica and PRIMARY_HOST=<the new primary>/);
  });

  it("rewinds the old primary with pg_rewind and streams from the new primary", async () => {
    const old = await cluster.replicaContainer("primary", "replica1").withDataVolume(cluster.primaryVolume).start();
    cluster.replicas.push(old);
    await old.waitForStreaming();
    expect(await old.logText()).toMatch(/rejoin-as-replica: old primary \(timeline 1\) rewound with pg_rewind to follow replica1 \(timeline 2\); it streams through slot primary/);
    await promoted.sql("INSERT INTO ledger VALUES (152, 'after rejoin')");
    await old.waitForReplay(await promoted.walLsn());
    const [row] = await old.sql<{ total: string; after: string; recovery: boolean }>(
      "SELECT count(*) AS total, count(*) FILTER (WHERE note LIKE 'after%') AS after, pg_is_in_recovery() AS recovery FROM ledger");
    expect(row).toEqual({ total: "152", after: "52", recovery: true });
    const [status] = await promoted.replicationStatus();
    expect(status).toMatchObject({ application_name: "primary", state: "streaming", slot_name: "primary", ssl: true });
  });
});
