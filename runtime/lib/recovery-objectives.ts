/**
 * Recovery objectives from measurements: the recovery point (how old the oldest committed
 * transaction is that the repository does not have yet: what a lost disk would lose) and the last
 * restore drill (how long a restore took to a queryable server, and how big it was).
 *
 * The repository's WAL ends where the oldest segment still waiting for the archiver begins; the
 * commits past it are read from pg_wal with pg_waldump, whose commit records carry their time.
 * Only commits count: the small records PostgreSQL writes by itself on an idle server (a standby
 * snapshot after a WAL switch, say) stay unarchived until the next write, and lose nothing. A
 * `.partial` segment waiting after a promotion is not readable by pg_waldump: unknown until it
 * is archived.
 */
import { join } from "node:path";
import { run } from "./exec.js";
import { byCodePoint } from "./order.js";
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

/** The segment file name for segment number `segment` on `timeline`. */
export function segmentName(timeline: number, segment: bigint, segmentBytes: number): string {
  const perLog = 0x1_0000_0000n / BigInt(segmentBytes);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, "0");
  return `${hex(timeline)}${hex(segment / perLog)}${hex(segment % perLog)}`;
}

/** The segment number a segment file name (24 hex digits) stands for. */
function segmentNumber(name: string, segmentBytes: number): bigint {
  return BigInt(`0x${name.slice(8, 16)}`) * (0x1_0000_0000n / BigInt(segmentBytes)) + BigInt(`0x${name.slice(16, 24)}`);
}

/**
 * Where the WAL the repository has ends, and the segment file that starts what it lacks: the
 * oldest segment still waiting for the archiver (a `.ready` file in pg_wal/archive_status, a
 * `.partial` one included), else the segment being written (every finished one is archived).
 * `flushedWal` is pg_walfile_name() of the flushed position, for its timeline; history and
 * backup-label files are not WAL and do not count.
 */
export function archiveEnd(statusFiles: readonly string[], flushed: bigint, flushedWal: string, segmentBytes: number): { lsn: bigint; segment: string } {
  const waiting = statusFiles
    .map((f) => f.match(/^([0-9A-F]{24})(\.partial)?\.ready$/)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort((a, b) => byCodePoint(a.slice(8), b.slice(8)) || byCodePoint(a, b));
  const size = BigInt(segmentBytes);
  if (waiting.length) return { lsn: segmentNumber(waiting[0], segmentBytes) * size, segment: waiting[0] };
  const current = flushed / size;
  return { lsn: current * size, segment: segmentName(Number.parseInt(flushedWal.slice(0, 8), 16), current, segmentBytes) };
}

/**
 * Where one repository's WAL ends when it has more than PostgreSQL counts archived (with two
 * repositories, archiving waits for the slower one while the other has moved on): after its
 * newest segment on the current timeline (`newest`, pgBackRest's archive max there, taken as
 * contiguous: segments reach a repository oldest first), else where archiving as a whole ends.
 */
export function repositoryArchiveEnd(
  overall: { lsn: bigint; segment: string },
  newest: string | undefined,
  segmentBytes: number,
): { lsn: bigint; segment: string } {
  if (!newest || !/^[0-9A-F]{24}$/.test(newest) || newest.slice(0, 8) !== overall.segment.slice(0, 8)) return overall;
  const next = segmentNumber(newest, segmentBytes) + 1n;
  const lsn = next * BigInt(segmentBytes);
  return lsn > overall.lsn ? { lsn, segment: segmentName(Number.parseInt(newest.slice(0, 8), 16), next, segmentBytes) } : overall;
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

/** Transaction records read past the archived end looking for a commit (aborts and subtransaction assignments come first only rarely). */
const transactionRecordsRead = 1000;

/**
 * The segment files pg_waldump reads from `from` (the start of `segment`) to `flushed` (written
 * on `flushedWal`'s timeline): given the start segment alone, pg_waldump refuses an end past it,
 * which is the case whenever more than the segment being written waits for the archiver.
 */
export function waldumpSegments(segment: string, flushed: bigint, flushedWal: string, segmentBytes: number): [start: string, end: string] {
  const last = (flushed - 1n) / BigInt(segmentBytes);
  return [segment, segmentName(Number.parseInt(flushedWal.slice(0, 8), 16), last, segmentBytes)];
}

/**
 * The oldest commit in pg_wal from `from` (the start of the first of `segments`, files in
 * `walDir`) to `flushed`; undefined when there is none. Throws when pg_waldump cannot read
 * pg_wal, takes more than 10 s, or reads its whole allowance of transaction records without
 * finding a commit.
 */
export async function oldestUnarchivedCommit(walDir: string, segments: [string, string], from: bigint, flushed: bigint): Promise<Date | undefined> {
  const r = await run(
    "pg_waldump",
    // The segments named: pg_waldump takes the segment size from the first (not from whichever
    // file it finds first, a preallocated one perhaps) and the timeline from them.
    [`--path=${walDir}`, "--rmgr=Transaction", `--start=${lsnText(from)}`, `--end=${lsnText(flushed)}`, `--limit=${transactionRecordsRead}`, ...segments],
    // Commit times in UTC, whatever TZ the container has; a status probe must not wait long.
    { env: { TZ: "UTC" }, timeoutMs: 10_000 },
  );
  const commit = firstCommitTime(r.stdout);
  if (commit) return commit;
  // Its error line, not the "Try --help" hint printed after it.
  const output = (r.stderr || r.stdout).trim().split("\n");
  if (r.code !== 0) throw new Error(`pg_waldump exited ${r.code}: ${output.find((l) => /error:/.test(l)) ?? output.at(-1)}`);
  if (r.stdout.split("\n").filter((l) => l.startsWith("rmgr:")).length >= transactionRecordsRead)
    throw new Error(`no commit among the first ${transactionRecordsRead} transaction records past ${lsnText(from)}`);
  return undefined;
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
