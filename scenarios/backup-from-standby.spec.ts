/**
 * BACKUP_FROM_STANDBY: the backup's files are copied from a streaming replica (pgBackRest
 * backup-standby, the replica's files reached through pgBackRest's TLS server on it, both sides
 * holding certificates of the cluster CA); the primary serves only the backup's start and stop.
 * With prefer and the replica gone, the backup is taken from the primary; with require, it fails
 * with one line.
 */
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { ClusterContainer, pollUntil, RestoredCloneContainer, type StartedCluster } from "../harness/index.js";

/** pgBackRest's own log of the last backup (log-level-file=detail names every file copied, with its host when remote). */
async function lastBackupLog(cluster: StartedCluster): Promise<string> {
  const log = (await cluster.primary.execOk(["cat", "/var/log/pgbackrest/main-backup.log"])).output;
  return log.slice(log.lastIndexOf("backup command begin"));
}

describe("@backup-from-standby backups copy their files from a streaming replica #backup-from-standby", () => {
  let cluster: StartedCluster;

  it.beforeAll(async ({ bed }) => {
    // prefer: the first full backup is taken before any replica exists.
    cluster = await new ClusterContainer(bed).withEnvironment({ BACKUP_FROM_STANDBY: "prefer", BACKUP_STANDBY_HOST: "replica1" }).withReplicas(1).start();
    await cluster.replicas[0].waitForStreaming();
    await cluster.replicas[0].waitForLog(/pgbackrest-server: serving this standby's files for backups from a standby on port 8432/);
  });

  it.afterAll(async () => {
    await cluster?.stop();
  });

  it("copies the data files from the replica, and a restore of that backup has every row #standby-files", async () => {
    await cluster.primary.sql("CREATE TABLE from_standby AS SELECT g AS id, repeat('s', 200) AS body FROM generate_series(1, 20000) g");
    await cluster.replicas[0].waitForReplay(await cluster.primary.walLsn());
    const backup = await cluster.primary.exec(["postgres-ba", "backup", "full"]);
    expect(backup.exitCode, backup.output).toBe(0);
    const log = await lastBackupLog(cluster);
    // Relation files from the replica (replica1:<path>), not the primary; only what pgBackRest takes from the primary itself (the backup label, pg_control) is local.
    const copied = [...log.matchAll(/backup file (\S+)/g)].map((m) => m[1]);
    const fromStandby = copied.filter((f) => f.startsWith("replica1:"));
    const why = log
      .split("\n")
      .filter((l) => /pg2|standby|WARN|ERROR|command begin/.test(l))
      .join("\n");
    expect(fromStandby.filter((f) => f.includes("/base/")).length, why).toBeGreaterThan(100);
    expect(copied.filter((f) => !f.startsWith("replica1:") && f.includes("/base/"))).toEqual([]);
    expect(log).toMatch(/wait for replay on the standby to reach|replay on the standby reached/);

    await using clone = await new RestoredCloneContainer(cluster.bed.image, cluster.primary).withNetwork(cluster.bed.network).start();
    expect(await clone.sql("SELECT count(*)::int AS n FROM from_standby")).toEqual([{ n: 20000 }]);
  });

  it("serves the replica's files only to a certificate issued to postgres-ba-pgbackrest, not to any of the cluster CA #standby-server-auth", async () => {
    // The primary's own server certificate: same CA, another name.
    const ssl = "/var/lib/postgresql/ssl";
    const r = await cluster.primary.exec([
      "postgres-ba",
      "pgbackrest",
      "backup",
      "--type=incr",
      "--backup-standby=y",
      "--pg2-host=replica1",
      "--pg2-host-type=tls",
      "--pg2-host-port=8432",
      "--pg2-host-ca-file=/var/lib/postgresql/ca/ca.crt",
      `--pg2-host-cert-file=${ssl}/server.crt`,
      `--pg2-host-key-file=${ssl}/server.key`,
      "--pg2-path=/var/lib/postgresql/18/docker",
      "--pg2-socket-path=/var/run/postgresql",
      "--pg2-user=app",
    ]);
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/unable to check pg2: \[AccessError\] .*access denied/);
    expect(r.output).toMatch(/unable to find standby cluster - cannot proceed/);
  });

  it("takes the backup from the primary when the replica is gone and BACKUP_FROM_STANDBY=prefer; require fails in one line #standby-prefer", async () => {
    await cluster.replicas[0].stop();
    // Once replica1 has left the network, Podman's DNS forwards its name to an upstream server,
    // which on these machines does not answer: a lookup took 20 s in some runs (one failure,
    // [049] reading backup.info from S3, may have been a backup started meanwhile). The backup
    // starts once the primary's lookup of replica1 has failed and S3's answers.
    const s3 = cluster.bucket.env.S3_ENDPOINT;
    await pollUntil(
      `replica1 gone from the primary's DNS, ${s3} in it`,
      async () =>
        (await cluster.primary.exec(["getent", "hosts", "replica1"])).exitCode !== 0 && (await cluster.primary.exec(["getent", "hosts", s3])).exitCode === 0,
    );
    const preferred = await cluster.primary.exec(["postgres-ba", "backup", "incr"]);
    expect(preferred.exitCode, preferred.output).toBe(0);
    const log = await lastBackupLog(cluster);
    expect(log).toContain("unable to find a standby to perform the backup, using primary instead");
    expect(log).not.toMatch(/backup file replica1:/);

    const required = await cluster.primary.exec(["postgres-ba", "backup", "incr"], { env: { BACKUP_FROM_STANDBY: "require" } });
    expect(required.exitCode).not.toBe(0);
    expect(required.output).toMatch(/incr backup failed: .*unable to find standby cluster - cannot proceed/);
  });
});
