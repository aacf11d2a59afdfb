import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { ClusterContainer, pollUntil, type StartedCluster, type StartedReplicaContainer } from "../harness/index.js";

describe("@replica-from-backup a replica restored from the latest S3 backup as a standby, then streaming #replica-from-backup", () => {
  let cluster: StartedCluster;
  let replica: StartedReplicaContainer;
  /** What the primary logged while the replica bootstrapped, with every replication command logged. */
  let primaryLogDuringBootstrap: string;

  it.beforeAll(async ({ bed }) => {
    cluster = await new ClusterContainer(bed).withReplicas(0).start();
    // Committed after the backup: the replica gets these from archived WAL and the stream.
    await cluster.primary.sql("CREATE TABLE notes (id int PRIMARY KEY, body text)");
    await cluster.primary.sql("INSERT INTO notes SELECT g, 'after the backup' FROM generate_series(1, 300) g");
    await cluster.primary.archiveCurrentWal();
    // The primary logs every replication command (BASE_BACKUP, START_REPLICATION, ...) from now on.
    await cluster.primary.sql("ALTER SYSTEM SET log_replication_commands = on");
    await cluster.primary.sql("SELECT pg_reload_conf()");
    await pollUntil(
      "log_replication_commands on",
      async () => (await cluster.primary.sql<{ on: string }>("SELECT current_setting('log_replication_commands') AS on"))[0].on === "on",
    );
    const logOffset = (await cluster.primary.logText()).length;
    replica = await cluster.replicaContainer("replica1").withBackupBootstrap().withEnvironment({ REPLICATION_SSLMODE: "verify-full" }).start();
    cluster.replicas.push(replica);
    await replica.waitForStreaming();
    primaryLogDuringBootstrap = (await cluster.primary.logText()).slice(logOffset);
  });

  it.afterAll(async () => {
    await cluster?.stop();
  });

  it("restores the primary's latest backup instead of copying from the primary", async () => {
    const [full] = await cluster.primary.backups();
    const logs = await replica.logText();
    expect(logs).toMatch(
      new RegExp(
        `clone-replica: cloned from primary:5432 \\(system \\d+, timeline 1\\) by restoring backup ${full.label} from the repository \\(then WAL from the archive and the primary\\) in [\\d.]+ s; slot replica1 created`,
      ),
    );
    expect(logs).not.toMatch(/pg_basebackup/);
    // The primary's side: it logged the replica's replication commands (the stream started) and
    // never a BASE_BACKUP, which pg_basebackup (the default bootstrap) sends.
    expect(primaryLogDuringBootstrap).toMatch(/received replication command: START_REPLICATION SLOT "replica1"/);
    expect(primaryLogDuringBootstrap).not.toMatch(/received replication command: BASE_BACKUP/);
    // Its only walsender is the replica's stream.
    const [{ n }] = await cluster.primary.sql<{ n: string }>("SELECT count(*) AS n FROM pg_stat_replication");
    expect(n).toBe("1");
  });

  it("has the rows committed after the backup, and rows written since", async () => {
    await cluster.primary.sql("INSERT INTO notes VALUES (301, 'streamed')");
    await replica.waitForReplay(await cluster.primary.walLsn());
    const [row] = await replica.sql<{ n: string; streamed: string }>("SELECT count(*) AS n, max(body) FILTER (WHERE id = 301) AS streamed FROM notes");
    expect(row).toEqual({ n: "301", streamed: "streamed" });
  });

  it("streams through its slot over TLS, verifying the primary's host name (verify-full)", async () => {
    const [status] = await cluster.primary.replicationStatus();
    expect(status).toMatchObject({ application_name: "replica1", state: "streaming", slot_name: "replica1", ssl: true });
    expect(await replica.logText()).toMatch(/standby of primary through slot replica1, verify-full/);
  });

  it("fetches WAL synchronously and takes no backups", async () => {
    const conf = await replica.execOk(["postgres", "-C", "restore_command", "-D", "/var/lib/postgresql/18/docker"], "postgres");
    expect(conf.output).toMatch(/--no-archive-async archive-get %f "%p"/);
    const r = await replica.exec(["postgres-ba", "check"]);
    expect(r.exitCode).toBe(64);
    expect((await cluster.primary.backups()).length).toBe(1);
  });
});
