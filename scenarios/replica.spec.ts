import { X509Certificate } from "node:crypto";
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { ClusterContainer, type StartedCluster, type StartedReplicaContainer } from "../harness/index.js";

describe("@replica a replica started with PG_MODE=replica streams from the primary over verified TLS", () => {
  let cluster: StartedCluster;
  let replica: StartedReplicaContainer;

  it.beforeAll(async ({ bed }) => {
    cluster = await new ClusterContainer(bed).withReplicas(1).start();
    replica = cluster.replicas[0];
    await replica.waitForStreaming();
  });

  it.afterAll(async () => {
    await cluster?.stop();
  });

  it("clones with pg_basebackup through its own slot, after checking the primary's certificate #replica-clone", async () => {
    const logs = await replica.logText();
    expect(logs).toMatch(/clone-replica: cloned from primary:5432 \(system \d+, timeline 1\) by pg_basebackup in [\d.]+ s; slot replica1 created/);
    expect(logs).toMatch(/configure-postgres: postgres-ba\.conf written \(standby of primary through slot replica1, verify-ca/);
    expect(logs).toMatch(/server: accepting connections, in recovery \(read-only\), timeline 1/);
  });

  it("shows rows written on the primary", async () => {
    await cluster.primary.sql("CREATE TABLE events (id int PRIMARY KEY, body text)");
    await cluster.primary.sql("INSERT INTO events SELECT g, 'event ' || g FROM generate_series(1, 500) g");
    await replica.waitForReplay(await cluster.primary.walLsn());
    const [row] = await replica.sql<{ n: string; last: string }>("SELECT count(*) AS n, max(body) FILTER (WHERE id = 500) AS last FROM events");
    expect(row).toEqual({ n: "500", last: "event 500" });
  });

  it("rejects writes", async () => {
    await expect(replica.sql("INSERT INTO events VALUES (9999, 'on the replica')")).rejects.toThrow(/read-only transaction/);
    const [row] = await replica.sql<{ recovery: boolean }>("SELECT pg_is_in_recovery() AS recovery");
    expect(row.recovery).toBe(true);
  });

  it("streams through its slot over an encrypted connection as the replication role, not the superuser #replication-role", async () => {
    const [status] = await cluster.primary.replicationStatus();
    expect(status).toMatchObject({ application_name: "replica1", state: "streaming", slot_name: "replica1", ssl: true });
    expect(status.ssl_version).toMatch(/^TLSv1\.[23]$/);
    const [role] = await cluster.primary.sql<{ usename: string; rolreplication: boolean; rolsuper: boolean }>(
      "SELECT r.usename, a.rolreplication, a.rolsuper FROM pg_stat_replication r JOIN pg_roles a ON a.rolname = r.usename",
    );
    expect(role).toEqual({ usename: "replicator", rolreplication: true, rolsuper: false });
  });

  it("shows in the primary's postgres-ba status, with the WAL its slot keeps", async () => {
    const r = await cluster.primary.exec(["postgres-ba", "status"]);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toMatch(/replication: primary; slots: replica1 active, [\d.]+ MB of WAL kept/);
    const standby = await replica.exec(["postgres-ba", "status", "--json"]);
    const json = JSON.parse(standby.output.slice(standby.output.indexOf("{")));
    expect(json.replication).toMatchObject({ role: "standby", slots: [] });
  });

  it("refuses replication connections without TLS from other hosts #replication-hostssl", async () => {
    // (initdb's own lines still allow local replication from inside the primary's container.)
    const r = await replica.exec([
      "sh",
      "-c",
      "PGPASSWORD=\"$REPLICATION_PASSWORD\" psql 'host=primary user=replicator dbname=replication replication=true sslmode=disable' -c IDENTIFY_SYSTEM",
    ]);
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/pg_hba\.conf rejects replication connection .* no encryption/);
  });

  it("has its own server certificate signed by the cluster's CA", async () => {
    // sql() already verifies the server with the replica's root.crt; this checks who signed it.
    const read = async (path: string) => new X509Certificate((await replica.execOk(["cat", path])).output);
    const [server, ca] = [await read("/var/lib/postgresql/ssl/server.crt"), await read("/var/lib/postgresql/ca/ca.crt")];
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.subject).toMatch(/CN=replica1/);
    const primaryCert = new X509Certificate((await cluster.primary.execOk(["cat", "/var/lib/postgresql/ssl/server.crt"])).output);
    expect(server.fingerprint256).not.toBe(primaryCert.fingerprint256);
  });

  it("runs no schedule and takes no backups #replica-no-backups", async () => {
    const logs = await replica.logText();
    expect(logs).toMatch(/replica: standby of primary:5432 through slot replica1: no backups and no schedule/);
    expect(logs).not.toMatch(/schedule: started|bootstrap-backups/);
    // Full backups only: the primary's own schedule may add an incremental at any half hour.
    const fulls = async () => (await cluster.primary.backups()).filter((b) => b.type === "full").map((b) => b.label);
    const before = await fulls();
    expect(before).toHaveLength(1);
    const r = await replica.exec(["postgres-ba", "backup", "full"]);
    expect(r.exitCode).toBe(64);
    expect(r.output).toMatch(/this container is a standby of primary: backups are taken by the primary/);
    expect(await fulls()).toEqual(before);
  });

  it("keeps the password out of process arguments and world-readable files #replication-password-hidden", async () => {
    // Processes may end between the glob and the read: errors ignored, the shell exits 0.
    const args = await replica.execOk(["sh", "-c", "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\" 2>/dev/null; echo; done; true"]);
    // Read for real: the standby's WAL receiver, which holds the connection that uses the password, is listed.
    expect(args.output).toMatch(/walreceiver/);
    expect(args.output).not.toContain(cluster.replicationPassword);
    const files = await replica.execOk([
      "sh",
      "-c",
      "grep -rl --exclude-dir=proc --exclude-dir=sys --exclude-dir=run -s -F \"$REPLICATION_PASSWORD\" / | xargs -r stat -c '%a %U %n'",
    ]);
    expect(files.output.trim().split("\n").filter(Boolean)).toEqual([
      expect.stringMatching(/^600 postgres \/var\/lib\/postgresql\/18\/\.postgres-ba\/replication\.pgpass$/),
    ]);
    const primaryLog = await cluster.primary.logText();
    expect(primaryLog).toMatch(/\[postgres-ba\] replication-role: role replicator ready/);
    expect(primaryLog).not.toContain(cluster.replicationPassword);
  });

  it("resumes streaming after a restart without a new clone #replica-restart", async () => {
    await replica.restart();
    await replica.waitForStreaming();
    await cluster.primary.sql("INSERT INTO events VALUES (501, 'after the replica restarted')");
    await replica.waitForReplay(await cluster.primary.walLsn());
    expect((await replica.sql<{ n: string }>("SELECT count(*) AS n FROM events"))[0].n).toBe("501");
    const logs = await replica.logText();
    expect(logs.match(/clone-replica: cloned/g)).toHaveLength(1);
    expect(logs).toMatch(/clone-replica: skipped: PGDATA holds a standby: it resumes streaming without a new clone/);
  });
});
