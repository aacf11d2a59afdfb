/**
 * `npm run bench:backup`: issue 5's numbers side by side, in one run on one machine.
 * 1. full/diff/incr backup time and throughput on pgbench data (SCALE, default 70: ~1.1 GB)
 *    against pg_basebackup of the same data (tar, uncompressed and gzip) inside the container;
 * 2. the size of a differential after changing 1 % of the rows spread over the table (every
 *    page touched) and of an incremental after changing a contiguous 1 % (1 % of pages);
 * 3. WAL archive lag (segment completed -> object in the bucket) p50/p99 under pgbench load;
 * 4. pgbench TPS with archiving against the same image without it (drop-in mode): two fresh,
 *    identically prepared containers, nothing else running (no lag sampler).
 */
import { containerEngine } from "../harness/engine.js";
import { BackupTestbed } from "../harness/testbed.js";
import { percentile } from "./stats.js";
import { noSchedule, type StartedPrimaryContainer } from "../harness/primary.js";

const scale = Number(process.env.SCALE ?? 70);
const loadSeconds = Number(process.env.LOAD_SECONDS ?? 60);
const pgbenchScale = 10;
const creds = { user: "bench", password: "bench", database: "bench" };
const bed = await new BackupTestbed().start();
const { cli } = await containerEngine();

const seconds = async (fn: () => Promise<unknown>) => {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
};
const ok = async (db: StartedPrimaryContainer, cmd: string[]) => (await db.execOk(cmd)).output;
const pgbench = (db: StartedPrimaryContainer, args: string[]) => ok(db, ["pgbench", "-h", "/var/run/postgresql", "-U", creds.user, ...args, creds.database]);

try {
  const bucket = await bed.s3.createBucket("bench-backup");
  const db = await bed
    .primary(bucket)
    .withUsername(creds.user)
    .withPassword(creds.password)
    .withDatabase(creds.database)
    .withSchedule(noSchedule)
    .withStartupTimeout(300_000)
    .start();
  await db.waitForBackupsActive();
  await pgbench(db, ["-i", "-q", "-s", String(scale)]);
  const [{ bytes }] = await db.sql<{ bytes: string }>("SELECT pg_database_size(current_database())::text AS bytes");
  const mb = Number(bytes) / 1e6;

  // 1. backups against pg_basebackup
  const rows: Array<[string, number, string]> = [];
  const backup = async (type: string) => {
    const t = await seconds(() => ok(db, ["postgres-ba", "backup", type]));
    const b = (await db.backups()).at(-1)!;
    rows.push([
      `pgBackRest ${type} (zst, process-max ${process.env.PGBACKREST_PROCESS_MAX ?? "= cores"})`,
      t,
      `${(b.info.repository.delta / 1e6).toFixed(1)} MB stored`,
    ]);
    return b;
  };
  await backup("full");
  for (const [name, flags] of [
    ["pg_basebackup -Ft (uncompressed)", []],
    ["pg_basebackup -Ft -z (gzip)", ["-z"]],
  ] as const) {
    const t = await seconds(() =>
      ok(db, ["sh", "-c", `rm -rf /tmp/bb && pg_basebackup -h /var/run/postgresql -U ${creds.user} -D /tmp/bb -Ft ${flags.join(" ")} -X fetch`]),
    );
    const size = (await ok(db, ["du", "-sm", "/tmp/bb"])).split(/\s/)[0];
    rows.push([name, t, `${size} MB written locally`]);
  }
  await ok(db, ["rm", "-rf", "/tmp/bb"]);
  // 2. change 1 % of the rows: spread (every page) then diff; contiguous (1 % of pages) then incr
  await db.sql("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0");
  const diff = await backup("diff");
  await db.sql(`UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= ${scale * 1000}`);
  const incr = await backup("incr");

  // 3. archive lag under load: when each segment completes (current segment changes) and when its object appears
  await pgbench(db, ["-i", "-q", "-s", String(pgbenchScale)]);
  const completed = new Map<string, number>();
  const seen = new Map<string, number>();
  let last = "";
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const [{ seg }] = await db.sql<{ seg: string }>("SELECT pg_walfile_name(pg_current_wal_lsn()) AS seg");
      if (last && seg !== last && !completed.has(last)) completed.set(last, Date.now());
      last = seg;
      for (const k of await bed.s3.listObjects(bucket.name, "pgbackrest/archive/main/18-1/")) {
        const name = k.split("/").pop()!.slice(0, 24);
        if (/^[0-9A-F]{24}$/.test(name) && !seen.has(name)) seen.set(name, Date.now());
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await pgbench(db, ["-c", "4", "-j", "2", "-T", String(loadSeconds), "-n"]);
  await new Promise((r) => setTimeout(r, 15_000));
  sampling = false;
  await sampler;
  const lags = [...completed].filter(([s]) => seen.has(s)).map(([s, t]) => Math.max(0, seen.get(s)! - t) / 1000);

  await db.stop({ removeVolumes: true });

  // 4. TPS: fresh containers prepared the same way, one with archiving, one in drop-in mode
  const tpsOf = async (bucketForArchiving?: Awaited<ReturnType<typeof bed.s3.createBucket>>) => {
    const c = await bed
      .primary(bucketForArchiving)
      .withUsername(creds.user)
      .withPassword(creds.password)
      .withDatabase(creds.database)
      .withSchedule(noSchedule)
      .start();
    if (bucketForArchiving) await c.waitForBackupsActive();
    await pgbench(c, ["-i", "-q", "-s", String(pgbenchScale)]);
    await c.sql("CHECKPOINT");
    const out = await pgbench(c, ["-c", "4", "-j", "2", "-T", String(loadSeconds), "-n"]);
    await c.stop({ removeVolumes: true });
    return Number(out.match(/tps = ([\d.]+)/)![1]);
  };
  const archivedTps = await tpsOf(await bed.s3.createBucket("bench-tps"));
  const plainTps = await tpsOf();

  console.log(`\nbackups of pgbench scale ${scale}: ${mb.toFixed(0)} MB database (${cli}, s3rver over TLS)`);
  console.log("| backup | time | throughput | size |\n| --- | --- | --- | --- |");
  for (const [name, t, size] of rows) console.log(`| ${name} | ${t.toFixed(1)} s | ${(mb / t).toFixed(0)} MB/s | ${size} |`);
  console.log(`\n1 % of pgbench_accounts rows changed, spread over every page -> differential: ${(diff.info.repository.delta / 1e6).toFixed(1)} MB stored`);
  console.log(
    `1 % of pgbench_accounts rows changed, contiguous -> incremental: ${(incr.info.repository.delta / 1e6).toFixed(1)} MB stored (full: ${rows[0][2]})`,
  );
  console.log(
    `\nWAL archive lag under pgbench -c4 -T${loadSeconds} (segment completed -> object in bucket, ${lags.length} segments): p50 ${percentile(lags, 50).toFixed(2)} s, p99 ${percentile(lags, 99).toFixed(2)} s, max ${Math.max(...lags).toFixed(2)} s`,
  );
  console.log(`\n| pgbench -c4 -T${loadSeconds}, scale ${pgbenchScale} | TPS |\n| --- | --- |`);
  console.log(`| with archiving (async, zst) | ${archivedTps.toFixed(0)} |`);
  console.log(`| without (drop-in mode) | ${plainTps.toFixed(0)} |`);
  console.log(`| ratio | ${(archivedTps / plainTps).toFixed(3)} |`);
} finally {
  await bed.stop();
}
