/**
 * `npm run bench:replica`: issue 4's numbers, in one run on one machine.
 * 1. Bringing up a replica of a SCALE (default 70: ~1.1 GB) primary by each bootstrap method:
 *    the clone step (the replica's own log line) and container start to streaming.
 * 2. Replication lag under pgbench -c4 -T LOAD_SECONDS on the primary, sampled from the
 *    primary's pg_stat_replication every SAMPLE_MS: bytes not replayed and replay_lag.
 * 3. Failover: the primary is killed, then `postgres-ba promote` runs while a client retries an
 *    INSERT on the replica every 50 ms; time to the first accepted write, and to the command's
 *    return (stanza check and a full backup of the whole database included).
 */
import pg from "pg";
import { ClusterContainer, clusterCredentials } from "../harness/cluster.js";
import { containerEngine } from "../harness/engine.js";
import { rootCertOf } from "../harness/pg-client.js";
import type { StartedPrimaryContainer } from "../harness/primary.js";
import type { StartedReplicaContainer } from "../harness/replica.js";
import { BackupTestbed } from "../harness/testbed.js";
import { percentile } from "./stats.js";

const scale = Number(process.env.SCALE ?? 70);
const loadSeconds = Number(process.env.LOAD_SECONDS ?? 60);
const sampleMs = Number(process.env.SAMPLE_MS ?? 500);
const { cli } = await containerEngine();
const bed = await new BackupTestbed().start();
const cluster = await new ClusterContainer(bed).withReplicas(0).start();
const { user, database } = clusterCredentials;
const pgbench = (db: StartedPrimaryContainer, args: string[]) => db.execOk(["pgbench", "-h", "/var/run/postgresql", "-U", user, ...args, database]);
const since = (t: number) => (performance.now() - t) / 1000;

try {
  const primary = cluster.primary;
  await pgbench(primary, ["-i", "-q", "-s", String(scale)]);
  // The backup bootstrap restores this backup: it holds the whole data set.
  await primary.execOk(["postgres-ba", "backup", "full"]);
  const [{ bytes }] = await primary.sql<{ bytes: string }>("SELECT sum(pg_database_size(datname))::text AS bytes FROM pg_database");
  const mb = Number(bytes) / 1e6;

  // 1. bring-up by each method
  const bringUp: string[] = [];
  const replicas: StartedReplicaContainer[] = [];
  for (const method of ["basebackup", "backup"] as const) {
    const container = cluster.replicaContainer(`replica-${method}`);
    const t = performance.now();
    const replica = await (method === "backup" ? container.withBackupBootstrap() : container).start();
    await replica.waitForStreaming(600_000);
    const toStreaming = since(t);
    cluster.replicas.push(replica);
    replicas.push(replica);
    const clone = Number((await replica.logText()).match(/clone-replica: cloned .* in ([\d.]+) s;/)![1]);
    bringUp.push(
      `| ${method === "backup" ? "REPLICA_BOOTSTRAP=backup (restore from S3)" : "REPLICA_BOOTSTRAP=basebackup (pg_basebackup)"} | ${clone.toFixed(1)} s | ${(mb / clone).toFixed(0)} MB/s | ${toStreaming.toFixed(1)} s |`,
    );
  }
  // Lag and failover use the pg_basebackup replica alone.
  await replicas[1].stop({ removeVolumes: true });
  cluster.replicas.splice(cluster.replicas.indexOf(replicas[1]), 1);
  const replica = replicas[0];

  // 2. lag under load
  const lagBytes: number[] = [];
  const lagSeconds: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const row = (await primary.replicationStatus()).find((r) => r.application_name === "replica_basebackup");
      if (row) {
        lagBytes.push(Number(row.replay_lag_bytes));
        lagSeconds.push(row.replay_lag_seconds ?? 0);
      }
      await new Promise((r) => setTimeout(r, sampleMs));
    }
  })();
  const load = await pgbench(primary, ["-c", "4", "-j", "2", "-T", String(loadSeconds), "-n"]);
  sampling = false;
  await sampler;
  const tps = Number(load.output.match(/tps = ([\d.]+)/)![1]);

  // 3. failover
  await primary.sql("CREATE TABLE failover_probe (at timestamptz DEFAULT now())");
  await replica.waitForReplay(await primary.walLsn());
  const client = new pg.Client({
    host: replica.getHost(),
    port: replica.getMappedPort(5432),
    user,
    password: clusterCredentials.password,
    database,
    ssl: { ca: await rootCertOf(replica), rejectUnauthorized: true, servername: "localhost" },
  });
  await client.connect();
  await primary.stop();
  const t = performance.now();
  const promoting = replica.promote();
  let firstWrite: number | undefined;
  while (firstWrite === undefined) {
    try {
      await client.query("INSERT INTO failover_probe DEFAULT VALUES");
      firstWrite = since(t);
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await promoting;
  const promoteTotal = since(t);
  await client.end();

  console.log(`\nreplicas of a ${mb.toFixed(0)} MB primary (pgbench scale ${scale}; ${cli}, s3rver over TLS, replication over TLS)`);
  console.log("| bootstrap | clone step | clone throughput | container start to streaming |\n| --- | --- | --- | --- |");
  for (const row of bringUp) console.log(row);
  const kb = (b: number) => `${(b / 1024).toFixed(0)} kB`;
  console.log(
    `\nreplication lag under pgbench -c4 -j2 -T${loadSeconds} on the primary (${tps.toFixed(0)} TPS), ${lagBytes.length} samples every ${sampleMs} ms:`,
  );
  console.log("| measure | p50 | p99 | max |\n| --- | --- | --- | --- |");
  console.log(`| WAL not yet replayed | ${kb(percentile(lagBytes, 50))} | ${kb(percentile(lagBytes, 99))} | ${kb(Math.max(...lagBytes))} |`);
  console.log(
    `| replay_lag | ${percentile(lagSeconds, 50).toFixed(3)} s | ${percentile(lagSeconds, 99).toFixed(3)} s | ${Math.max(...lagSeconds).toFixed(3)} s |`,
  );
  console.log(
    `\nfailover: postgres-ba promote to the first accepted write ${firstWrite.toFixed(2)} s; the whole command (pgbackrest check, full backup of ${mb.toFixed(0)} MB) ${promoteTotal.toFixed(1)} s`,
  );
} finally {
  await cluster.stop();
  await bed.stop();
}
