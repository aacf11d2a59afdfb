/**
 * `npm run bench` (issue 13): one table, every row measured against its baseline in this same
 * invocation on the same data, printed as Markdown to stdout and written as JSON to
 * bench/results/<UTC timestamp>.json; a line per phase goes to stderr while it works.
 * `npm run bench -- --quick` shrinks the sizes and run counts to about three minutes and says so
 * in every row it shrank. Environment overrides: SCALE, BACKUP_ROUNDS, INCOMPRESSIBLE_MB, SEGMENTS, TPS_SCALE,
 * TPS_SECONDS, TPS_RUNS, RUNS (startup runs), KILLS (H1's leader kills); SUITE_TIMES (P6's report).
 *
 * Order matters: the restore (P2) runs before the archive-lag phase (P3) forces a hundred WAL
 * segments, which a restore would otherwise have to replay; the TPS pair (P4) runs after the
 * cluster is gone, so nothing else competes for the two cores.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { $ } from "zx";
import { baseImage } from "../harness/base-image.js";
import { ClusterContainer } from "../harness/cluster.js";
import { HaClusterContainer, haTimings } from "../harness/ha-cluster.js";
import { containerEngine } from "../harness/engine.js";
import { productImage } from "../harness/image.js";
import { projectRoot } from "../harness/paths.js";
import { pollUntil } from "../harness/poll.js";
import { noSchedule, RestoredCloneContainer, type StartedPrimaryContainer } from "../harness/primary.js";
import { s3Backend, type StartedS3Container } from "../harness/s3.js";
import { type SuiteTimes, suiteTimesFile } from "../harness/summary-reporter.js";
import { BackupTestbed, type StartedBackupTestbed } from "../harness/testbed.js";
import { type BenchResults, type BenchRow, renderResultsTable, resultsDir, resultsFileName } from "./results.js";
import { median, percentile } from "./stats.js";

const quick = process.argv.includes("--quick");
/**
 * `--only=P4,P5` measures those rows alone, to tune one default at a time; such a run prints
 * its rows but writes no results file (the README's table is always a whole run).
 */
const only = process.argv
  .find((a) => a.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");
const rowIds = ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "E1", "H1"];
const unknownRows = only?.filter((id) => !rowIds.includes(id)) ?? [];
if (unknownRows.length) {
  process.stderr.write(`[bench] --only=${only!.join(",")}: no row ${unknownRows.join(", ")}; the rows are ${rowIds.join(", ")}\n`);
  process.exit(64);
}
const wanted = (...ids: string[]) => !only || ids.some((id) => only.includes(id));
/** The issue's sizes, and what --quick uses instead; an environment variable overrides either. */
const sizeSettings = {
  scale: { variable: "SCALE", full: 100, quick: 10, unit: "pgbench scale" },
  backupRounds: { variable: "BACKUP_ROUNDS", full: 3, quick: 1, unit: "backup rounds" },
  incompressibleMb: { variable: "INCOMPRESSIBLE_MB", full: 1000, quick: 100, unit: "MB incompressible" },
  segments: { variable: "SEGMENTS", full: 100, quick: 30, unit: "segments" },
  tpsScale: { variable: "TPS_SCALE", full: 10, quick: 10, unit: "pgbench scale" },
  tpsSeconds: { variable: "TPS_SECONDS", full: 30, quick: 5, unit: "s per pgbench run" },
  tpsRuns: { variable: "TPS_RUNS", full: 3, quick: 3, unit: "runs each" },
  startupRuns: { variable: "RUNS", full: 3, quick: 1, unit: "runs" },
  kills: { variable: "KILLS", full: 5, quick: 2, unit: "leader kills" },
} as const;
type SizeName = keyof typeof sizeSettings;
const size = Object.fromEntries(
  Object.entries(sizeSettings).map(([name, s]) => [name, Number(process.env[s.variable] ?? (quick ? s.quick : s.full))]),
) as Record<SizeName, number>;
for (const [name, setting] of Object.entries(sizeSettings)) {
  if (!(size[name as SizeName] >= 1)) {
    process.stderr.write(`[bench] ${setting.variable}=${process.env[setting.variable]}: expected a number of at least 1\n`);
    process.exit(64);
  }
}

/** What this invocation measured smaller than the issue asks, e.g. "pgbench scale 10 (not 100)". */
function shrunk(...names: SizeName[]): string | undefined {
  const smaller = names.filter((n) => size[n] < sizeSettings[n].full).map((n) => `${size[n]} ${sizeSettings[n].unit} (not ${sizeSettings[n].full})`);
  return smaller.length ? smaller.join(", ") : undefined;
}

const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secondsSince = (t: number) => (performance.now() - t) / 1000;
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return secondsSince(t);
}
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 10e6 ? 1 : 0)} MB`;
const s = (seconds: number) => `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
/** Each round's time, e.g. "3.62 s, 3.70 s, 3.58 s". */
const seconds = (rounds: number[]) => rounds.map(s).join(", ");
const x = (ratio: number) => `${ratio.toFixed(2)}x`;
/** A difference in seconds with its sign, e.g. "+2.27 s" or "-1.72 s". */
const signed = (seconds: number) => `${seconds < 0 ? "-" : "+"}${s(Math.abs(seconds))}`;

const { cli, kind } = await containerEngine();
const sh = $({ quiet: true });

function pgbench(db: StartedPrimaryContainer, args: string[]) {
  return db.execOk(["pgbench", "-h", "/var/run/postgresql", "-U", db.getUsername(), ...args, db.getDatabase()]);
}

async function databaseBytes(db: StartedPrimaryContainer): Promise<number> {
  const [{ bytes }] = await db.sql<{ bytes: string }>("SELECT sum(pg_database_size(datname))::text AS bytes FROM pg_database");
  return Number(bytes);
}

/** P7: the layers the product adds on top of its base, from the engine's image history. */
async function imageSizeRow(image: string, base: string): Promise<BenchRow> {
  // Podman prints one JSON array with byte sizes; Docker one JSON object per line, its sizes in bytes with --human=false.
  const history = async (img: string) => {
    const out =
      cli === "podman"
        ? (await sh`podman history --no-trunc --format json ${img}`).stdout
        : `[${(await sh`docker history --no-trunc --human=false --format ${"{{json .}}"} ${img}`).stdout.trim().split("\n").join(",")}]`;
    return (JSON.parse(out) as Array<{ size?: number; Size?: string; CreatedBy: string }>).map((l) => ({
      bytes: Number(l.size ?? l.Size),
      createdBy: l.CreatedBy,
    }));
  };
  const [product, baseLayers] = [await history(image), await history(base)];
  // History lists the newest layer first; the base's layers are the last ones of the product's.
  const added = product.slice(0, product.length - baseLayers.length).filter((l) => l.bytes > 0);
  const imageBytes = async (img: string) => Number((await sh`${cli} image inspect --format {{.Size}} ${img}`).stdout.trim());
  const [productBytes, baseBytes] = [await imageBytes(image), await imageBytes(base)];
  const extra = productBytes - baseBytes;
  const layers = added
    .sort((a, b) => b.bytes - a.bytes)
    .map(
      (l) =>
        `${mb(l.bytes)} ${l.createdBy
          .replace(/^\/bin\/sh -c (#\(nop\) )?/, "")
          .slice(0, 40)
          .trim()}…`,
    );
  return {
    id: "P7",
    measure: "image size, per layer",
    baseline: "base image",
    goal: "<= base + 100 MB",
    value: `${mb(productBytes)} on a ${mb(baseBytes)} base (+${mb(extra)}); added layers: ${layers.join("; ")}`,
    ratio: x(productBytes / baseBytes),
    met: extra <= 100e6,
    data: { productBytes, baseBytes, addedLayerBytes: added.map((l) => l.bytes) },
  };
}

interface ProcessMemory {
  comm: string;
  command: string;
  rssKb: number;
  anonKb: number;
  fileKb: number;
}

/** A memory field of /proc/<pid>/status ("VmRSS:    91880 kB"), in kB; 0 when absent. */
function statusKb(status: string | undefined, field: string): number {
  return Number(status?.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);
}

/** Every process in the container with its resident memory: all of it, its own (anonymous), and mapped files. */
async function processMemory(id: string): Promise<ProcessMemory[]> {
  const script =
    'for p in /proc/[0-9]*; do printf "%s|%s|%s\\n" "$(cat $p/comm 2>/dev/null)" "$(tr "\\0" " " < $p/cmdline 2>/dev/null)" "$(grep -E "^(VmRSS|RssAnon|RssFile):" $p/status 2>/dev/null | tr -s " \\t\\n" " ")"; done';
  return (await sh`${cli} exec ${id} sh -c ${script}`).stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [comm, command, memory] = line.split("|");
      return { comm, command, rssKb: statusKb(memory, "VmRSS"), anonKb: statusKb(memory, "RssAnon"), fileKb: statusKb(memory, "RssFile") };
    });
}

/**
 * P5: container start to ready, new database and restart, the product against plain PostgreSQL
 * on the same base (interleaved), each by its own readiness: the product's health check, and
 * pg_isready over TCP for the base. Then the runtime's (Node's) resident memory at idle.
 */
async function startupRow(image: string, base: string): Promise<BenchRow> {
  // The stand-in base has no entrypoint (the official one has docker-entrypoint.sh): there plain
  // PostgreSQL is initdb and postgres, run as the postgres user, which is what the entrypoint does.
  const baseEntrypoint = (await sh`${cli} image inspect --format ${"{{json .Config.Entrypoint}}"} ${base}`).stdout.trim();
  const plainArgs =
    baseEntrypoint === "null" || baseEntrypoint === "[]"
      ? [
          "--user",
          "postgres",
          "--entrypoint",
          "sh",
          base,
          "-c",
          'test -s "$PGDATA/PG_VERSION" || { echo bench > /tmp/pw; initdb -A scram-sha-256 --pwfile=/tmp/pw >/dev/null; }; exec postgres -c listen_addresses="*"',
        ]
      : ["-e", "POSTGRES_PASSWORD=bench", base];
  const kinds = {
    product: { args: ["-e", "POSTGRES_PASSWORD=bench", image], ready: ["docker-healthcheck.sh"] },
    plain: { args: plainArgs, ready: ["pg_isready", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"] },
  };
  const times = { product: { newDb: [] as number[], restart: [] as number[] }, plain: { newDb: [] as number[], restart: [] as number[] } };
  let runtime: ProcessMemory | undefined;
  let postgresKb = 0;
  const waitReady = async (id: string, probe: string[]) => {
    while ((await $({ quiet: true, nothrow: true })`${cli} exec ${id} ${probe}`).exitCode !== 0) await sleep(100);
  };
  for (let run = 1; run <= size.startupRuns; run++) {
    for (const which of ["product", "plain"] as const) {
      let id = "";
      try {
        times[which].newDb.push(
          await timed(async () => {
            id = (await sh`${cli} run -d ${kinds[which].args}`).stdout.trim();
            await waitReady(id, kinds[which].ready);
          }),
        );
        await sh`${cli} stop -t 30 ${id}`;
        times[which].restart.push(
          await timed(async () => {
            await sh`${cli} start ${id}`;
            await waitReady(id, kinds[which].ready);
          }),
        );
        if (which === "product" && run === 1) {
          await sleep(5000);
          // PID 1 is tini; its child is the runtime (node); the postmaster is the runtime's child.
          for (const p of await processMemory(id)) {
            if (p.command.includes("/postgres-ba/")) runtime = p;
            if (p.comm === "postgres") postgresKb += p.rssKb;
          }
        }
      } finally {
        if (id) await sh`${cli} rm -f -v ${id}`;
      }
    }
    say(`P5: startup run ${run}/${size.startupRuns} done`);
  }
  const m = {
    newDb: median(times.product.newDb),
    plainNewDb: median(times.plain.newDb),
    restart: median(times.product.restart),
    plainRestart: median(times.plain.restart),
  };
  // Bare Node in the same image, idle: what any Node program costs before it does anything.
  const bareNode = (
    await sh`${cli} run --rm --no-healthcheck --entrypoint node ${image} -e ${"setTimeout(() => console.log(require('fs').readFileSync('/proc/self/status', 'utf8')), 5000)"}`
  ).stdout;
  const bareNodeKb = statusKb(bareNode, "VmRSS");
  const rssMb = (runtime?.rssKb ?? 0) / 1024;
  const mbOf = (kb: number | undefined) => `${((kb ?? 0) / 1024).toFixed(0)} MB`;
  return {
    id: "P5",
    measure: "restart to ready; new database to ready; runtime RSS at idle",
    baseline: "plain `postgres` on the same base",
    goal: "overhead <= 1 s; RSS <= 60 MB",
    value:
      `restart ${s(m.restart)} vs ${s(m.plainRestart)} (${signed(m.restart - m.plainRestart)}); new database ${s(m.newDb)} vs ${s(m.plainNewDb)} ` +
      `(${signed(m.newDb - m.plainNewDb)}); runtime RSS ${mbOf(runtime?.rssKb)} (${mbOf(runtime?.anonKb)} its own, ${mbOf(runtime?.fileKb)} ` +
      `file-backed: the node binary's pages, shared by every node process; bare node idle in the same image ${mbOf(bareNodeKb)}; ` +
      `all postgres processes ${mbOf(postgresKb)}); medians of ${size.startupRuns}`,
    ratio: `${x(m.restart / m.plainRestart)} restart, ${x(m.newDb / m.plainNewDb)} new database`,
    met: m.restart - m.plainRestart <= 1 && rssMb <= 60,
    shrunk: shrunk("startupRuns"),
    data: {
      ...times.product,
      plainNewDb: times.plain.newDb,
      plainRestart: times.plain.restart,
      runtimeRssKb: runtime?.rssKb ?? 0,
      runtimeAnonKb: runtime?.anonKb ?? 0,
      runtimeFileKb: runtime?.fileKb ?? 0,
      bareNodeRssKb: bareNodeKb,
      postgresRssKb: postgresKb,
    },
  };
}

/**
 * The full backup's wall time against `pg_basebackup -Ft` (uncompressed, into the container's own
 * disk) of the same data, as medians of interleaved rounds (the one that goes first alternates):
 * single pg_basebackup rounds of the same 1.1 GB took 2.6 s, 23 s and 273 s in one run, as its
 * writes met the page cache or waited for writeback.
 */
async function backupAgainstBasebackup(db: StartedPrimaryContainer) {
  const basebackup = () =>
    timed(async () => {
      await db.execOk(["sh", "-c", `rm -rf /tmp/bb && pg_basebackup -h /var/run/postgresql -U ${db.getUsername()} -D /tmp/bb -Ft -X fetch`]);
    }).finally(() => db.execOk(["rm", "-rf", "/tmp/bb"]));
  const fullBackup = () => timed(() => db.execOk(["postgres-ba", "backup", "full"]));
  const basebackupRounds: number[] = [];
  const backupRounds: number[] = [];
  for (let round = 0; round < size.backupRounds; round++) {
    if (round % 2 === 0) basebackupRounds.push(await basebackup());
    backupRounds.push(await fullBackup());
    if (round % 2 === 1) basebackupRounds.push(await basebackup());
  }
  const stored = (await db.backups()).at(-1)!.info.repository.delta;
  const basebackupSeconds = median(basebackupRounds);
  const backupSeconds = median(backupRounds);
  return { basebackupSeconds, backupSeconds, stored, ratio: basebackupSeconds / backupSeconds, basebackupRounds, backupRounds };
}

/**
 * P1's reference for data that does not compress: how fast the S3 server takes 1000 MB of random
 * bytes in one PUT from the host (the same server, TLS and two cores pgBackRest's upload meets;
 * one stream and the SDK's own signing and checksums, so a reference, not a bound).
 */
async function s3IngestMBps(s3: StartedS3Container): Promise<number> {
  const bucket = (await s3.createBucket("bench-ingest")).name;
  const body = randomBytes(1000 * 1e6);
  const took = await timed(() => s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: "random", Body: body })));
  await s3.deleteObjects(bucket, ["random"]);
  return body.length / 1e6 / took;
}

/** Loads random bytes (pg_read_binary_file of /dev/urandom's output, 1 MB a row, stored uncompressed). */
async function loadIncompressible(db: StartedPrimaryContainer, megabytes: number): Promise<void> {
  await db.execOk(["sh", "-c", `head -c ${megabytes}M /dev/urandom > /tmp/incompressible`]);
  await db.sql("CREATE TABLE incompressible (chunk bytea)");
  await db.sql("ALTER TABLE incompressible ALTER COLUMN chunk SET STORAGE EXTERNAL");
  await db.sql(
    `INSERT INTO incompressible SELECT pg_read_binary_file('/tmp/incompressible', i * 1048576, 1048576) FROM generate_series(0, ${megabytes - 1}) i`,
  );
  await db.execOk(["rm", "/tmp/incompressible"]);
}

/** Loads are WAL too: both backups start with the archive caught up and the data checkpointed. */
async function settle(db: StartedPrimaryContainer): Promise<void> {
  await db.archiveCurrentWal(600_000);
  await db.sql("CHECKPOINT");
}

/** P1 on both data sets (incompressible first, dropped before pgbench's is loaded, so each backup holds one). */
async function backupRow(db: StartedPrimaryContainer, s3: StartedS3Container): Promise<BenchRow> {
  await loadIncompressible(db, size.incompressibleMb);
  await settle(db);
  const incompressibleBytes = await databaseBytes(db);
  say(`P1: ${size.incompressibleMb} MB of incompressible data loaded (${mb(incompressibleBytes)} in all databases)`);
  const random = await backupAgainstBasebackup(db);
  say(`P1: incompressible: pgBackRest full ${seconds(random.backupRounds)}, pg_basebackup -Ft ${seconds(random.basebackupRounds)}`);
  const ingest = await s3IngestMBps(s3);
  say(`P1: the S3 server took 1000 MB in one PUT at ${ingest.toFixed(0)} MB/s`);
  await db.sql("DROP TABLE incompressible");
  await pgbench(db, ["-i", "-q", "-s", String(size.scale)]);
  await settle(db);
  const pgbenchBytes = await databaseBytes(db);
  say(`P1: pgbench scale ${size.scale} loaded (${mb(pgbenchBytes)})`);
  const data = await backupAgainstBasebackup(db);
  say(`P1: pgbench: pgBackRest full ${seconds(data.backupRounds)}, pg_basebackup -Ft ${seconds(data.basebackupRounds)}`);
  const rounds = size.backupRounds > 1 ? `medians of ${size.backupRounds} interleaved rounds; ` : "";
  return {
    id: "P1",
    measure: `full backup to S3, pgbench scale ${size.scale} and ${size.incompressibleMb} MB of incompressible data`,
    baseline: "`pg_basebackup -Ft` to local disk, uncompressed",
    goal: ">= 1.5x pgbench, >= 0.5x incompressible",
    value:
      `${rounds}pgbench ${mb(pgbenchBytes)}: ${s(data.backupSeconds)} (${mb(data.stored)} stored) vs ${s(data.basebackupSeconds)}; ` +
      `incompressible ${mb(incompressibleBytes)}: ${s(random.backupSeconds)} (${mb(random.stored)} stored) vs ${s(random.basebackupSeconds)}, ` +
      `uploading ${(random.stored / 1e6 / random.backupSeconds).toFixed(0)} MB/s where the S3 server took one 1000 MB PUT from the host at ${ingest.toFixed(0)} MB/s`,
    ratio: `${x(data.ratio)} pgbench, ${x(random.ratio)} incompressible`,
    met: data.ratio >= 1.5 && random.ratio >= 0.5,
    shrunk: shrunk("scale", "incompressibleMb", "backupRounds"),
    data: { pgbenchBytes, randomBytes: incompressibleBytes, s3IngestMBps: ingest, ...prefixed("pgbench", data), ...prefixed("incompressible", random) },
  };
}

const prefixed = (prefix: string, values: Record<string, number | number[]>) =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [`${prefix}${k[0].toUpperCase()}${k.slice(1)}`, v]));

/**
 * P2: a clone restored from S3 (container start to ready: restored, recovered and writable)
 * against a pg_basebackup replica of the same primary (container start to streaming).
 */
async function restoreRow(bed: StartedBackupTestbed, cluster: Awaited<ReturnType<ClusterContainer["start"]>>): Promise<BenchRow> {
  const primary = cluster.primary;
  const bytes = await databaseBytes(primary);
  let replicaSeconds = 0;
  const started = performance.now();
  const replica = await cluster.replicaContainer("replica-basebackup").start();
  try {
    await replica.waitForStreaming(600_000);
    replicaSeconds = secondsSince(started);
  } finally {
    await replica.stop({ removeVolumes: true });
  }
  // The gone replica's slot would keep WAL on the primary for the rest of the run.
  await pollUntil("replica slot inactive and dropped", async () => {
    await primary.sql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", [replica.slot]);
    return true;
  });
  say(`P2: pg_basebackup replica streaming after ${s(replicaSeconds)}`);
  await primary.archiveCurrentWal();
  let restoreSeconds = 0;
  let pgbackrestSeconds = 0;
  const restoreStarted = performance.now();
  const clone = await new RestoredCloneContainer(bed.image, primary).withNetwork(bed.network).withStartupTimeout(600_000).start();
  try {
    restoreSeconds = secondsSince(restoreStarted);
    // Where the clone's time went: the runtime's own timestamped lines, one per step.
    const log = await clone.logText();
    for (const line of log.split("\n").filter((l) => l.includes("[postgres-ba]"))) say(`P2: clone: ${line}`);
    pgbackrestSeconds = Number(/restore-from-backup: .*, in ([\d.]+) s$/m.exec(log)?.[1] ?? Number.NaN);
  } finally {
    await clone.stop({ removeVolumes: true });
  }
  say(`P2: restored clone ready after ${s(restoreSeconds)}`);
  const disk = await diskWriteMBps(bed.image);
  say(`P2: this disk writes ${disk.toFixed(0)} MB/s with fsync`);
  const ratio = replicaSeconds / restoreSeconds;
  return {
    id: "P2",
    measure: "restore from S3 to a ready server",
    baseline: "`pg_basebackup` clone of the same data",
    goal: ">= 1.5x",
    value:
      `${mb(bytes)}: restored clone start to ready ${s(restoreSeconds)} vs pg_basebackup replica start to streaming ${s(replicaSeconds)}; ` +
      (pgbackrestSeconds > 0
        ? `pgBackRest's restore itself ${s(pgbackrestSeconds)}, writing ${(bytes / 1e6 / pgbackrestSeconds).toFixed(0)} MB/s`
        : "pgBackRest's own restore time not in the clone's log") +
      ` where this disk writes ${disk.toFixed(0)} MB/s with fsync (dd)`,
    ratio: x(ratio),
    met: ratio >= 1.5,
    shrunk: shrunk("scale"),
    data: { bytes, restoreSeconds, replicaSeconds, ...(pgbackrestSeconds > 0 ? { pgbackrestSeconds } : {}), diskWriteMBps: disk },
  };
}

/**
 * P2's bound: a restore and a pg_basebackup clone both write and sync every byte of the database,
 * so neither goes faster than the disk does (dd of 1000 MiB with fsync into a new volume of the
 * same engine; MB/s as dd counts it, from its own report).
 */
async function diskWriteMBps(image: string): Promise<number> {
  const volume = `pgba-bench-disk-${randomBytes(4).toString("hex")}`;
  try {
    const { stderr } =
      await sh`${cli} run --rm --no-healthcheck -v ${`${volume}:/disk`} --entrypoint dd ${image} if=/dev/zero of=/disk/zeros bs=1M count=1000 conv=fsync`;
    const report = /^(\d+) bytes .* copied, ([\d.]+) s/m.exec(stderr);
    if (!report) throw new Error(`dd did not report its pace: ${stderr}`);
    return Number(report[1]) / 1e6 / Number(report[2]);
  } finally {
    await $({ quiet: true, nothrow: true })`${cli} volume rm -f ${volume}`;
  }
}

/** P8: what the repository stores for incrementals and a differential after 1 % of the rows change. */
async function incrementalRow(db: StartedPrimaryContainer): Promise<BenchRow> {
  const full = (await db.backups()).at(-1)!.info.repository.delta;
  const storedBy = async (type: "incr" | "diff") => {
    await db.execOk(["postgres-ba", "backup", type]);
    return (await db.backups()).at(-1)!.info.repository.delta;
  };
  // 1 % of pgbench_accounts' rows (100,000 per scale unit): the first 1 % (1 % of the pages), then every 100th row (every page).
  await db.sql(`UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= ${size.scale * 1000}`);
  const contiguous = await storedBy("incr");
  await db.sql("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0");
  const spread = await storedBy("incr");
  const diff = await storedBy("diff");
  say(`P8: incr ${mb(contiguous)} contiguous, ${mb(spread)} spread, diff ${mb(diff)}; full ${mb(full)}`);
  const pct = (bytes: number) => `${((100 * bytes) / full).toFixed(1)} %`;
  return {
    id: "P8",
    measure: "incr and diff size after changing 1 % of rows, contiguous and spread",
    baseline: "full backup size",
    goal: "contiguous incr <= 5 % of full",
    value: `stored: full ${mb(full)}; incr after a contiguous 1 % ${mb(contiguous)}; incr after a spread 1 % ${mb(spread)}; diff after both ${mb(diff)}`,
    ratio: `${pct(contiguous)} contiguous incr, ${pct(spread)} spread incr, ${pct(diff)} diff`,
    met: contiguous <= 0.05 * full,
    shrunk: shrunk("scale"),
    data: { fullBytes: full, contiguousIncrBytes: contiguous, spreadIncrBytes: spread, diffBytes: diff },
  };
}

/**
 * P3: WAL segment switch to its object in the bucket, under pgbench. Segments are switched every
 * 300 ms (pg_switch_wal) so a hundred complete in under a minute; the bucket is listed every
 * 100 ms beside it, so each lag is at most that much late.
 */
async function archiveLagRow(bed: StartedBackupTestbed, db: StartedPrimaryContainer): Promise<BenchRow> {
  const [{ setting }] = await db.sql<{ setting: string }>("SELECT setting FROM pg_settings WHERE name = 'archive_timeout'");
  const archiveTimeout = Number(setting);
  const bucket = db.bucket!.name;
  const switchedAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  let loading = true;
  let listing = true;
  const load = (async () => {
    while (loading) await pgbench(db, ["-c", "4", "-j", "2", "-T", "5", "-n"]);
  })();
  const lister = (async () => {
    while (listing) {
      const keys = await bed.s3.listObjects(bucket, `pgbackrest/archive/${db.stanza}/`);
      const now = Date.now();
      for (const key of keys) {
        const segment = key.split("/").pop()!.slice(0, 24);
        if (/^[0-9A-F]{24}$/.test(segment) && !seenAt.has(segment)) seenAt.set(segment, now);
      }
      await sleep(100);
    }
  })();
  try {
    while (switchedAt.size < size.segments) {
      const [{ segment }] = await db.sql<{ segment: string }>("SELECT pg_walfile_name(pg_switch_wal()) AS segment");
      if (!switchedAt.has(segment)) {
        switchedAt.set(segment, Date.now());
        if (switchedAt.size % 25 === 0) say(`P3: ${switchedAt.size}/${size.segments} segments switched`);
      }
      await sleep(300);
    }
    loading = false;
    await load;
    await pollUntil("every switched segment in the bucket", () => [...switchedAt.keys()].every((seg) => seenAt.has(seg)), { timeoutMs: 120_000 });
  } finally {
    loading = false;
    listing = false;
    await Promise.allSettled([load, lister]);
  }
  const lags = [...switchedAt].map(([segment, t]) => Math.max(0, seenAt.get(segment)! - t) / 1000);
  const [p50, p99] = [percentile(lags, 50), percentile(lags, 99)];
  say(`P3: archive lag p50 ${s(p50)}, p99 ${s(p99)} over ${lags.length} segments`);
  return {
    id: "P3",
    measure: "WAL commit-to-object lag, p50/p99, under pgbench",
    baseline: "archive_timeout",
    goal: "p99 <= archive_timeout + 2 s",
    value: `p50 ${s(p50)}, p99 ${s(p99)}, max ${s(Math.max(...lags))} over ${lags.length} segments (switched every 300 ms under pgbench -c4); archive_timeout ${archiveTimeout} s`,
    ratio: `p99 = ${x(p99 / archiveTimeout)} archive_timeout`,
    met: p99 <= archiveTimeout + 2,
    shrunk: shrunk("segments", "scale"),
    data: { archiveTimeout, lags },
  };
}

/** P4: pgbench TPS, the same image with archiving and in drop-in mode, runs interleaved (the order alternates). */
async function tpsRow(bed: StartedBackupTestbed): Promise<BenchRow> {
  const server = (bucket?: Awaited<ReturnType<StartedBackupTestbed["s3"]["createBucket"]>>) =>
    bed.primary(bucket).withUsername("bench").withPassword("bench").withDatabase("bench").withSchedule(noSchedule).start();
  await using archiving = await server(await bed.s3.createBucket("bench-tps"));
  await using dropIn = await server();
  await archiving.waitForBackupsActive();
  for (const db of [archiving, dropIn]) {
    await pgbench(db, ["-i", "-q", "-s", String(size.tpsScale)]);
    await db.sql("CHECKPOINT");
  }
  say(`P4: two servers with pgbench scale ${size.tpsScale} ready`);
  const tps = { archiving: [] as number[], dropIn: [] as number[] };
  const runTps = async (db: StartedPrimaryContainer, seconds: number) =>
    Number((await pgbench(db, ["-c", "4", "-j", "2", "-T", String(seconds), "-n"])).output.match(/tps = ([\d.]+)/)![1]);
  // Every page's first write after the load's checkpoint is a full-page image: a warm-up run
  // each, not counted, so the first measured run is not the only one paying for them.
  for (const db of [archiving, dropIn]) await runTps(db, Math.min(10, size.tpsSeconds));
  const measure = async (which: keyof typeof tps, db: StartedPrimaryContainer) => {
    // Each run starts with the archive caught up: the previous run's WAL is not pushed during
    // the drop-in's run (which it would slow) nor during the next archiving run.
    await archiving.archiveCurrentWal(120_000);
    tps[which].push(await runTps(db, size.tpsSeconds));
  };
  for (let run = 0; run < size.tpsRuns; run++) {
    const pair = [() => measure("archiving", archiving), () => measure("dropIn", dropIn)];
    for (const step of run % 2 === 0 ? pair : pair.reverse()) await step();
    say(`P4: round ${run + 1}/${size.tpsRuns}: ${tps.archiving.at(-1)!.toFixed(0)} TPS archiving, ${tps.dropIn.at(-1)!.toFixed(0)} TPS drop-in`);
  }
  const ratio = median(tps.archiving) / median(tps.dropIn);
  return {
    id: "P4",
    measure: "pgbench TPS with archiving",
    baseline: "same image, archiving off, interleaved runs",
    goal: ">= 0.98x",
    value: `median ${median(tps.archiving).toFixed(0)} vs ${median(tps.dropIn).toFixed(0)} TPS (pgbench -c4 -j2 -T${size.tpsSeconds}, scale ${size.tpsScale}, ${size.tpsRuns} runs each after a warm-up, the archive caught up before each)`,
    ratio: x(ratio),
    met: ratio >= 0.98,
    shrunk: shrunk("tpsSeconds", "tpsRuns"),
    data: tps,
  };
}

/**
 * E1 (issue 11): what REPO_CIPHER_PASS costs. Two primaries with the same pgbench data, one
 * repository plain and one encrypted (aes-256-cbc); each round takes a full backup of each and
 * restores a clone from each (start to ready), three rounds with the order alternating, so neither
 * kind always goes first (one round of each measured 1.25x in favour of whichever ran second).
 */
async function encryptionRow(bed: StartedBackupTestbed): Promise<BenchRow> {
  const passphrase = randomBytes(24).toString("base64url");
  const kinds = ["plain", "encrypted"] as const;
  const cipherOf = (kind: (typeof kinds)[number]): Record<string, string> => (kind === "encrypted" ? { REPO_CIPHER_PASS: passphrase } : {});
  const start = async (kind: (typeof kinds)[number]) =>
    bed
      .primary(await bed.s3.createBucket(`bench-${kind}`))
      .withSchedule(noSchedule)
      .withEnvironment(cipherOf(kind))
      .withStartupTimeout(600_000)
      .start();
  await using plainDb = await start("plain");
  await using encryptedDb = await start("encrypted");
  const servers = { plain: plainDb, encrypted: encryptedDb };
  for (const db of Object.values(servers)) {
    await db.waitForBackupsActive();
    await pgbench(db, ["-i", "-q", "-s", String(size.scale)]);
    await settle(db);
  }
  const bytes = await databaseBytes(plainDb);
  const times = { plainBackup: [] as number[], encryptedBackup: [] as number[], plainRestore: [] as number[], encryptedRestore: [] as number[] };
  let stored = { plain: 0, encrypted: 0 };
  for (let round = 0; round < 3; round++) {
    for (const kind of round % 2 === 0 ? kinds : [...kinds].reverse()) {
      const db = servers[kind];
      times[`${kind}Backup`].push(await timed(() => db.execOk(["postgres-ba", "backup", "full"])));
      stored = { ...stored, [kind]: (await db.backups()).at(-1)!.info.repository.delta };
      await db.archiveCurrentWal();
      const started = performance.now();
      await using clone = await new RestoredCloneContainer(bed.image, db)
        .withNetwork(bed.network)
        .withEnvironment(cipherOf(kind))
        .withStartupTimeout(600_000)
        .start();
      times[`${kind}Restore`].push(secondsSince(started));
      // A timing of a clone without the data would mean nothing.
      const [{ n }] = await clone.sql<{ n: number }>("SELECT count(*)::int AS n FROM pgbench_branches");
      if (n !== size.scale) throw new Error(`E1: the ${kind} clone has ${n} pgbench branches, not ${size.scale}`);
      say(
        `E1: round ${round + 1}, ${kind}: full backup ${s(times[`${kind}Backup`].at(-1)!)}, restored clone ready after ${s(times[`${kind}Restore`].at(-1)!)}`,
      );
    }
  }
  const backup = { plain: median(times.plainBackup), encrypted: median(times.encryptedBackup) };
  const restore = { plain: median(times.plainRestore), encrypted: median(times.encryptedRestore) };
  return {
    id: "E1",
    measure: `encryption (REPO_CIPHER_PASS, aes-256-cbc): full backup and restore to ready, pgbench scale ${size.scale}`,
    baseline: "the same data and image, repository not encrypted, rounds interleaved",
    goal: "reported side by side (issue 11 sets no goal)",
    value: `${mb(bytes)}, median of 3 rounds: backup ${s(backup.encrypted)} vs ${s(backup.plain)}, restore ${s(restore.encrypted)} vs ${s(restore.plain)}; stored ${mb(stored.encrypted)} vs ${mb(stored.plain)}`,
    ratio: `${x(backup.plain / backup.encrypted)} backup, ${x(restore.plain / restore.encrypted)} restore`,
    met: null,
    shrunk: shrunk("scale"),
    data: { bytes, ...times },
  };
}

/**
 * H1 (issue 12): automatic failover with HA_MODE=patroni in synchronous mode. Each round a
 * writer commits numbered rows on the leader; the leader gets SIGKILL; the time to the first
 * write another member accepts, the acknowledged rows missing there, and the time until a full
 * backup of the new timeline is in the repository; then the killed member rejoins before the
 * next round. The baseline is the leader lock's ttl (HA_TTL), which bounds the wait by design.
 */
async function failoverRow(bed: StartedBackupTestbed): Promise<BenchRow> {
  await using cluster = await new HaClusterContainer(bed).withMembers(3).withEnvironment({ HA_SYNCHRONOUS_MODE: "on" }).start();
  const ttl = Number(haTimings.HA_TTL);
  await (await cluster.leader()).sql("CREATE TABLE h1 (id bigint PRIMARY KEY)");
  const times = { firstWrite: [] as number[], backup: [] as number[], lost: [] as number[], acknowledged: [] as number[] };
  for (let round = 0; round < size.kills; round++) {
    const leader = await cluster.leader(120_000);
    const client = await leader.connect();
    client.on("error", () => undefined);
    const acknowledged: number[] = [];
    let writing = true;
    const writer = (async () => {
      for (let id = round * 1_000_000 + 1; writing; id++) {
        await client.query("INSERT INTO h1 (id) VALUES ($1)", [id]);
        acknowledged.push(id);
      }
    })().catch(() => undefined);
    await pollUntil("H1: acknowledged commits before the kill", () => acknowledged.length >= 100);
    const killed = performance.now();
    const killedAt = Date.now();
    await cluster.kill(leader);
    writing = false;
    await Promise.race([writer, sleep(5000)]);
    const others = cluster.members.filter((m) => m !== leader);
    const next = await pollUntil(
      "H1: a write accepted by another member",
      async () => {
        for (const member of others) {
          const accepted = await member.sql(`INSERT INTO h1 (id) VALUES (${-(round + 1)})`).then(
            () => true,
            () => false,
          );
          if (accepted) return member;
        }
        return undefined;
      },
      { timeoutMs: 180_000, intervalMs: 200 },
    ).catch(async (e: Error) => {
      // Without this poll's own refusals, which would fill the tail.
      const logs = await cluster
        .logs(120, [], /INSERT INTO h1|read-only transaction|relation "h1"/)
        .catch((logError: Error) => `(no logs: ${logError.message})`);
      say(`H1: kill ${round + 1}: no member took writes; their logs:\n${logs}`);
      throw e;
    });
    times.firstWrite.push(secondsSince(killed));
    const present = new Set((await next.sql<{ id: string }>("SELECT id FROM h1 WHERE id > 0")).map((r) => Number(r.id)));
    times.lost.push(acknowledged.filter((id) => !present.has(id)).length);
    times.acknowledged.push(acknowledged.length);
    const timeline = (await next.sql<{ tli: string }>("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli"))[0].tli;
    await pollUntil(
      "H1: a full backup of the new timeline",
      async () => (await next.backups()).find((b) => b.type === "full" && b.archive.start.startsWith(timeline) && b.timestamp.start * 1000 >= killedAt - 1000),
      { timeoutMs: 300_000, intervalMs: 500 },
    );
    times.backup.push(secondsSince(killed));
    say(
      `H1: kill ${round + 1}/${size.kills}: first write after ${s(times.firstWrite.at(-1)!)}, ${times.lost.at(-1)} of ${acknowledged.length} acknowledged lost, backup of timeline ${parseInt(timeline, 16)} after ${s(times.backup.at(-1)!)}`,
    );
    await leader.restart();
    await pollUntil("H1: the old leader back as a replica", async () => (await leader.sql<{ r: boolean }>("SELECT pg_is_in_recovery() AS r"))[0]?.r === true, {
      timeoutMs: 180_000,
    });
  }
  const lost = times.lost.reduce((a, b) => a + b, 0);
  const acknowledged = times.acknowledged.reduce((a, b) => a + b, 0);
  return {
    id: "H1",
    measure: `automatic failover (HA_MODE=patroni, synchronous mode, 3 members, HA_TTL=${ttl} s, HA_LOOP_WAIT=${haTimings.HA_LOOP_WAIT} s, HA_RETRY_TIMEOUT=${haTimings.HA_RETRY_TIMEOUT} s): kill -9 of the leader to the first accepted write, commits lost, new timeline's first backup`,
    baseline: "the leader lock's ttl (HA_TTL)",
    goal: "0 acknowledged commits lost (issue 12)",
    value:
      `${size.kills} kills: first write on the new leader median ${s(median(times.firstWrite))}, max ${s(Math.max(...times.firstWrite))}; ` +
      `${lost} of ${acknowledged} acknowledged commits lost; full backup of the new timeline median ${s(median(times.backup))}, max ${s(Math.max(...times.backup))} after the kill`,
    ratio: `${x(median(times.firstWrite) / ttl)} ttl (median first write)`,
    met: lost === 0,
    shrunk: shrunk("kills"),
    data: { ttlSeconds: ttl, ...times },
  };
}

/**
 * P6 from a whole `npm test` run's timing report: this working copy's, or SUITE_TIMES naming
 * another (a fresh clone's, as the row's baseline asks, e.g. the clone a CI rehearsal ran in).
 */
function suiteTimeRow(): BenchRow {
  const row = { id: "P6", measure: "suite time per scenario file", baseline: "total on a fresh clone", goal: "<= 15 min total" };
  const report = process.env.SUITE_TIMES ?? suiteTimesFile;
  if (!existsSync(report)) {
    return { ...row, value: `no suite timing report (${report} is written by a whole \`npm test\` run)`, ratio: "-", met: null, data: {} };
  }
  const times = JSON.parse(readFileSync(report, "utf8")) as SuiteTimes;
  const slowest = Object.entries(times.files)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([file, seconds]) => `${file.replace(/^scenarios\//, "")} ${seconds.toFixed(0)} s`);
  return {
    ...row,
    value:
      `${(times.wallSeconds / 60).toFixed(1)} min wall for ${Object.keys(times.files).length} files (${times.engine}, ${times.finishedAt.slice(0, 16)}Z); ` +
      `slowest: ${slowest.join(", ")}`,
    ratio: x(times.wallSeconds / 900),
    met: times.wallSeconds <= 900,
    data: { wallSeconds: times.wallSeconds, ...times.files },
  };
}

const started = new Date();
const startedAt = performance.now();
const image = await productImage();
const base = await baseImage();
const machine = {
  cores: cpus().length,
  memoryGb: Math.round(totalmem() / 2 ** 30),
  engine: `${kind} (${cli} ${(await sh`${cli} version --format {{.Client.Version}}`).stdout.trim()})`,
  s3: `${await s3Backend()} over TLS`,
  image,
  baseImage: base,
  date: started.toISOString(),
};
say(`${quick ? "quick" : "full"} run on ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.engine}; ${image} on ${base}`);

const rows: BenchRow[] = [];
if (wanted("P7")) {
  rows.push(await imageSizeRow(image, base));
  say("P7: image layers read");
}
if (wanted("P5")) rows.push(await startupRow(image, base));
if (wanted("P1", "P2", "P3", "P4", "P8", "E1", "H1")) {
  await using bed = await new BackupTestbed().start();
  say("testbed (network and S3) started");
  if (wanted("P1", "P2", "P3", "P8")) {
    const cluster = await new ClusterContainer(bed).withReplicas(0).start();
    try {
      say("cluster primary started, first backup taken");
      // P1 loads the data P2, P8 and P3 measure: it runs whenever one of them does.
      const backups = await backupRow(cluster.primary, bed.s3);
      if (wanted("P1")) rows.push(backups);
      if (wanted("P2")) rows.push(await restoreRow(bed, cluster));
      if (wanted("P8")) rows.push(await incrementalRow(cluster.primary));
      if (wanted("P3")) rows.push(await archiveLagRow(bed, cluster.primary));
    } finally {
      await cluster.stop();
    }
  }
  if (wanted("P4")) rows.push(await tpsRow(bed));
  if (wanted("E1")) rows.push(await encryptionRow(bed));
  if (wanted("H1")) rows.push(await failoverRow(bed));
}
if (wanted("P6")) rows.push(suiteTimeRow());

const results: BenchResults = {
  quick,
  machine,
  wallSeconds: Math.round(secondsSince(startedAt)),
  rows: rows.sort((a, b) => a.id.localeCompare(b.id)),
};
if (only) {
  say(`--only=${only.join(",")}: no results file written`);
} else {
  const file = join(projectRoot, resultsDir, resultsFileName(started));
  mkdirSync(join(projectRoot, resultsDir), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  say(`results written to ${resultsDir}/${resultsFileName(started)}`);
}
process.stdout.write(renderResultsTable(results));
