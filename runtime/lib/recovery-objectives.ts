/**
 * Recovery objectives from measurements: the recovery point (how old the oldest committed
 * transaction is that the repository does not have yet: what a lost disk would lose) and the last
 * restore drill (how long a restore took to a queryable server, and how big it was).
 *
 * The archived WAL ends where pg_stat_archiver's last segment ends; the commits past it are read
 * from pg_wal with pg_waldump, whose commit records carry their time. Only commits count: the
 * small records PostgreSQL writes by itself on an idle server (a standby snapshot after a WAL
 * switch, say) stay unarchived until the next write, and lose nothing.
 */
import { join } from "node:path";
import { run } from "./exec.js";
import { readJsonIfExists, runtimeDir, writeJsonAtomic } from "./state.js";

export interface DrillRecord {
  finishedAt: string;
  ok: boolean;
  /** Start of the restore to the first answered query (or to the failure). */
  seconds: number;
  label?: string;
  /** The restored data directory's size. */
  bytes?: number;
  summary: string;
}

/** A WAL position's text form ("16/B374D848") as a number. */
export function parseLsn(lsn: string): bigint {
  const [high, low] = lsn.split("/");
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/** PostgreSQL's text form of a WAL position. */
export function lsnText(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/**
 * The WAL position where the archived segment `walName` ends (timeline, log and segment in 24 hex
 * digits). A `.partial` segment (the old timeline's last, archived at a promotion) counts as
 * reaching only its start; a history file, or nothing archived yet, gives undefined.
 */
export function archivedThrough(walName: string | undefined, segmentBytes: number): bigint | undefined {
  const m = walName?.match(/^[0-9A-F]{8}([0-9A-F]{8})([0-9A-F]{8})(\.partial)?$/);
  if (!m) return undefined;
  const segmentsPerLog = 0x1_0000_0000n / BigInt(segmentBytes);
  const segment = BigInt(`0x${m[1]}`) * segmentsPerLog + BigInt(`0x${m[2]}`);
  return (m[3] ? segment : segment + 1n) * BigInt(segmentBytes);
}

/**
 * The time of the first commit in pg_waldump's output, as it prints one in UTC:
 * "desc: COMMIT 2026-12-06 10:15:00.510123 UTC". Undefined when there is none (aborts and
 * PostgreSQL's own records are not commits).
 */
export function firstCommitTime(waldump: string): Date | undefined {
  const m = waldump.match(/desc: COMMIT(?:_PREPARED \d+:)? (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d{1,3})?)\d* UTC/);
  return m ? new Date(`${m[1]}T${m[2]}Z`) : undefined;
}

/** Transaction records read past the archived end looking for a commit: aborts come first only rarely. */
const transactionRecordsRead = 100;

/**
 * The oldest commit in pg_wal that is past `archived` and at most `flushed`, on `timeline`; undefined
 * when there is none. Throws when pg_waldump cannot read pg_wal.
 */
export async function oldestUnarchivedCommit(walDir: string, timeline: number, archived: bigint, flushed: bigint): Promise<Date | undefined> {
  const r = await run(
    "pg_waldump",
    [
      `--path=${walDir}`,
      `--timeline=${timeline}`,
      "--rmgr=Transaction",
      `--start=${lsnText(archived)}`,
      `--end=${lsnText(flushed)}`,
      `--limit=${transactionRecordsRead}`,
    ],
    // Commit times in UTC, whatever TZ the container has.
    { env: { TZ: "UTC" } },
  );
  if (r.code !== 0 && !firstCommitTime(r.stdout)) throw new Error(`pg_waldump exited ${r.code}: ${(r.stderr || r.stdout).trim().split("\n").at(-1)}`);
  return firstCommitTime(r.stdout);
}

export function drillRecordPath(pgdata: string): string {
  return join(runtimeDir(pgdata), "restore-drill.json");
}

export function readDrillRecord(pgdata: string): DrillRecord | undefined {
  return readJsonIfExists<DrillRecord>(drillRecordPath(pgdata));
}

export function writeDrillRecord(pgdata: string, record: DrillRecord): void {
  writeJsonAtomic(drillRecordPath(pgdata), record);
}
