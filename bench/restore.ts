/**
 * `npm run bench:restore`: restore time and throughput for a database of at least 1 GB, and
 * container start to accepting writes after a restore. pgbench -i builds the data (SCALE,
 * default 70: about 1.1 GB), a full backup goes to the S3 fixture, then a new container
 * restores it. RUNS restores (default 2) are timed; the table prints each and the median.
 */
import { noSchedule } from "../harness/primary.js";
import { BackupTestbed } from "../harness/testbed.js";
import { median } from "./stats.js";

const scale = Number(process.env.SCALE ?? 70);
const runs = Number(process.env.RUNS ?? 2);
const bed = await new BackupTestbed().start();
const bucket = await bed.s3.createBucket("bench-restore");
const creds = { user: "bench", password: "bench", database: "bench" };
const primary = () => bed.primary(bucket).withUsername(creds.user).withPassword(creds.password).withDatabase(creds.database).withSchedule(noSchedule);

try {
  const source = await primary().start();
  await source.waitForBackupsActive();
  const init = await source.exec(["pgbench", "-i", "-s", String(scale), "-q", "-h", "/var/run/postgresql", "-U", creds.user, creds.database]);
  if (init.exitCode !== 0) throw new Error(init.output);
  const [{ bytes }] = await source.sql<{ bytes: string }>("SELECT sum(pg_database_size(datname))::text AS bytes FROM pg_database");
  const backupStarted = performance.now();
  const b = await source.exec(["postgres-ba", "backup", "full"]);
  if (b.exitCode !== 0) throw new Error(b.output);
  const backupSeconds = (performance.now() - backupStarted) / 1000;
  const full = (await source.backups()).at(-1)!;
  await source.archiveCurrentWal();
  await source.stop({ removeVolumes: true });

  const rows: Array<{ restore: number; ready: number; writable: number }> = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const restored = await primary().withRestore().withStartupTimeout(600_000).start();
    const ready = (performance.now() - started) / 1000;
    await restored.sql("CREATE TABLE written_after_restore (x int)");
    const writable = (performance.now() - started) / 1000;
    const restore = Number((await restored.logText()).match(/restore-from-backup: restored: .* in ([\d.]+) s/)![1]);
    rows.push({ restore, ready, writable });
    await restored.stop({ removeVolumes: true });
  }
  const mb = Number(bytes) / 1e6;
  console.log(
    `\nrestore of pgbench scale ${scale}: ${mb.toFixed(0)} MB of databases, full backup ${full.label} stored ${(full.info.repository.delta / 1e6).toFixed(0)} MB (zst, bundled) in ${backupSeconds.toFixed(1)} s`,
  );
  console.log("| run | pgbackrest restore | throughput | container start to ready | start to first write |\n| --- | --- | --- | --- | --- |");
  for (const [i, r] of rows.entries()) {
    console.log(`| ${i + 1} | ${r.restore.toFixed(1)} s | ${(mb / r.restore).toFixed(0)} MB/s | ${r.ready.toFixed(1)} s | ${r.writable.toFixed(1)} s |`);
  }
  console.log(
    `| median | ${median(rows.map((r) => r.restore)).toFixed(1)} s | ${(mb / median(rows.map((r) => r.restore))).toFixed(0)} MB/s | ${median(rows.map((r) => r.ready)).toFixed(1)} s | ${median(rows.map((r) => r.writable)).toFixed(1)} s |`,
  );
} finally {
  await bed.stop();
}
