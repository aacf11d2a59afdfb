/**
 * Streaming replication: how a replica reaches its primary (libpq over verified TLS, with the
 * password only in the environment or a 0600 passfile), the physical slot it streams through,
 * and the replication role a primary keeps up to date. Walsender commands (IDENTIFY_SYSTEM,
 * READ_REPLICATION_SLOT, CREATE_REPLICATION_SLOT) need only the REPLICATION attribute, so a
 * replica never needs the superuser's password.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BackupEnv } from "../env/parse.js";
import type { Env } from "../env/table.js";
import { run } from "./exec.js";
import { log } from "./log.js";
import { pgbackrest } from "./pgbackrest.js";
import { backupTimeline, readStanza } from "./repository.js";
import type { RepoBackup } from "./restore-plan.js";
import { parseLsn, segmentName } from "./recovery-objectives.js";
import { sleep } from "./supervisor.js";
import { psql } from "./postgres.js";
import { readJsonIfExists, runtimeDir, writeJsonAtomic } from "./state.js";
import { tlsPaths } from "./tls-paths.js";
import { RepositoryError, UpstreamError } from "../errors.js";

/** What a replica (or a rejoining old primary) needs to talk to PRIMARY_HOST. */
export interface Upstream {
  host: string;
  port: number;
  user: string;
  password: string;
  sslmode: "verify-ca" | "verify-full";
  caFile: string;
  slot: string;
}

/** A slot name from a host name: lowercase letters, digits and '_' only. */
export function slotName(serverName: string): string {
  return serverName
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, 63);
}

/** Beside PGDATA, not in it: pg_basebackup and pg_rewind copy PGDATA from another server. */
function recordPath(pgdata: string): string {
  return join(runtimeDir(pgdata), "replication.json");
}

export function passfilePath(pgdata: string): string {
  return join(runtimeDir(pgdata), "replication.pgpass");
}

/**
 * REPLICATION_SLOT, else the slot recorded at the first clone, else SERVER_NAME: a container
 * recreated under another host name keeps streaming through the slot that holds its WAL.
 */
export function upstreamOf(env: Env): Upstream {
  if (!env.PRIMARY_HOST || !env.REPLICATION_PASSWORD) throw new Error("upstreamOf without PRIMARY_HOST or REPLICATION_PASSWORD"); // parseEnv refuses this
  const recorded = readJsonIfExists<{ slot?: string }>(recordPath(env.PGDATA))?.slot;
  return {
    host: env.PRIMARY_HOST,
    port: env.PRIMARY_PORT,
    user: env.REPLICATION_USER,
    password: env.REPLICATION_PASSWORD,
    sslmode: env.REPLICATION_SSLMODE,
    caFile: tlsPaths(env).caCert,
    slot: env.REPLICATION_SLOT ?? recorded ?? slotName(env.SERVER_NAME),
  };
}

export function recordSlot(pgdata: string, slot: string): void {
  writeJsonAtomic(recordPath(pgdata), { slot });
}

/** libpq's passfile format: host:port:db:user:password, with ':' and '\' escaped. */
export function writePassfile(pgdata: string, up: Upstream): string {
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/:/g, "\\:");
  const path = passfilePath(pgdata);
  writeFileSync(path, `${esc(up.host)}:${up.port}:*:${esc(up.user)}:${esc(up.password)}\n`, { mode: 0o600 });
  return path;
}

/** A libpq connection string (no password: it travels in PGPASSWORD or a passfile). */
export function conninfo(up: Upstream, extra: Record<string, string> = {}): string {
  const fields: Record<string, string> = {
    host: up.host,
    port: String(up.port),
    user: up.user,
    sslmode: up.sslmode,
    sslrootcert: up.caFile,
    application_name: up.slot,
    connect_timeout: "5",
    ...extra,
  };
  // libpq's own quoting: single quotes, with ' and \ escaped by a backslash.
  return Object.entries(fields)
    .map(([k, v]) => `${k}='${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`)
    .join(" ");
}

/** Why a connection to the primary failed, and whether waiting can help. */
export type FailureKind = "unreachable" | "credentials" | "certificate" | "refused";

export function classifyFailure(message: string): FailureKind {
  if (/password authentication failed|no password supplied/i.test(message)) return "credentials";
  if (/certificate|SSL error|does not match host name|sslrootcert|tlsv1 alert/i.test(message)) return "certificate";
  if (/no pg_hba\.conf entry|permission denied|must have replication|not permitted to log in|does not exist/i.test(message)) return "refused";
  return "unreachable";
}

/** Runs walsender commands on the primary in one connection; the rows of all, as arrays of fields. */
export async function walsender(up: Upstream, ...commands: string[]): Promise<string[][]> {
  return (await walsenderOutput(up, [], commands))
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("|"));
}

/** psql's unaligned output of walsender commands on the primary (psql's own options first). */
async function walsenderOutput(up: Upstream, options: string[], commands: string[]): Promise<string> {
  const r = await run(
    "psql",
    [
      "--no-psqlrc",
      "--tuples-only",
      "--no-align",
      ...options,
      "-v",
      "ON_ERROR_STOP=1",
      "-d",
      conninfo(up, { dbname: "replication", replication: "true" }),
      ...commands.flatMap((c) => ["-c", c]),
    ],
    {
      env: { PGPASSWORD: up.password, PGPASSFILE: undefined },
      timeoutMs: 30_000,
    },
  );
  if (r.code !== 0) {
    const message =
      r.stderr
        .trim()
        .split("\n")
        .map((l) => l.replace(/^psql: (error: )?/, ""))
        .join(" ") || `psql exited ${r.code}`;
    throw new UpstreamError(classifyFailure(message), message);
  }
  return r.stdout;
}

export interface PrimaryIdentity {
  systemId: string;
  timeline: number;
  lsn: string;
  /** PRIMARY_HOST is itself a standby (in_hot_standby). */
  standby: boolean;
}

export async function identify(up: Upstream): Promise<PrimaryIdentity> {
  const [[systemId, timeline, lsn], [hot]] = await walsender(up, "IDENTIFY_SYSTEM", "SHOW in_hot_standby");
  return { systemId, timeline: Number(timeline), lsn, standby: hot === "on" };
}

/** What a copy restored from the repository needs to follow its primary's timeline. */
export interface TimelineToFollow {
  /** The primary's timeline now. */
  timeline: number;
  /** Its history file, for pg_wal; none when the backup is on that timeline already. */
  history?: { name: string; content: string };
}

/**
 * A copy restored from the repository must follow the primary's timeline, and right after a
 * promotion the repository can still lead it astray: the backup is of the old timeline, and the
 * archive holds the old timeline's WAL past the fork (rows the new timeline never had) before
 * it holds the new timeline's history file or the segment in which it forked. Recovery then
 * replays the old timeline past the fork and the copy can never stream from the primary.
 * Called before the restore (it writes nothing, so a stop while it waits leaves nothing to
 * start): asks the primary for its history when the backup (on `backupTimeline`) is older, and
 * waits until the archive holds every segment where a later timeline began, on the timeline
 * recovery prefers for it. writeTimelineHistory() then puts the history in pg_wal, where
 * recovery also looks for one. Throws UpstreamError when the primary does not answer, or a
 * segment is not archived within `waitMs` (a promotion here archives it within seconds: its
 * `pgbackrest check` switches WAL).
 */
export async function timelineToFollow(env: BackupEnv, up: Upstream, backup: RepoBackup, waitMs = 60_000): Promise<TimelineToFollow> {
  const { timeline, systemId } = await identify(up);
  const ours = backupTimeline(backup);
  if (timeline === ours) return { timeline };
  if (timeline < ours) throw new UpstreamError("refused", `backup ${backup.label} is of timeline ${ours}, newer than the timeline ${timeline} of ${up.host}`);
  // One row of two fields, the file's name and its content (lines of its own): fields apart by a NUL byte.
  const output = await walsenderOutput(up, ["--field-separator-zero"], [`TIMELINE_HISTORY ${timeline}`]);
  const separator = output.indexOf("\0");
  const name = output.slice(0, separator);
  const content = `${output.slice(separator + 1).replace(/\n+$/, "")}\n`;
  if (separator < 0 || !/^[0-9A-F]{8}\.history$/.test(name)) {
    throw new UpstreamError("refused", `TIMELINE_HISTORY ${timeline} answered ${JSON.stringify(output.slice(0, 80))}`);
  }
  // The backup must lie on the primary's history: its timeline a parent, begun before that one's end.
  const end = historyChain(content, timeline).find((f) => f.parent === ours);
  if (ours !== 0 && (!end || (backup.lsn && parseLsn(backup.lsn.start) >= end.lsn))) {
    throw new UpstreamError("refused", `backup ${backup.label} (timeline ${ours}) is not in the history of timeline ${timeline} of ${up.host}`);
  }
  const [[segmentSize]] = await walsender(up, "SHOW wal_segment_size");
  const needed = forkSegments(content, timeline, ours, parseSize(segmentSize));
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt++) {
    const missing = await notArchived(env, systemId, needed);
    if (missing.length === 0) break;
    if (Date.now() > deadline)
      throw new UpstreamError("unreachable", `the repository does not hold ${missing[0]}, where a timeline of ${up.host} began, after ${waitMs / 1000} s`);
    if (attempt === 1) log("follow-timeline", `waiting for ${missing.join(", ")}, where a timeline of ${up.host} began, to reach the repository`);
    await sleep(2000);
  }
  return { timeline, history: { name, content } };
}

/**
 * Which of `segments` of system `systemId` the repository restores read from does not list in
 * its archive directory yet (archive-get would need a pg_control, and PGDATA is empty until the
 * restore): all of them while the repository cannot be read. One `info`, then a listing each.
 */
async function notArchived(env: BackupEnv, systemId: string, segments: readonly string[]): Promise<string[]> {
  let archives: Awaited<ReturnType<typeof readStanza>>["archives"];
  try {
    archives = (await readStanza(env)).archives;
  } catch (e) {
    if (e instanceof RepositoryError) return [...segments];
    throw e;
  }
  const archive = archives.filter((a) => a.systemId === systemId && a.id).sort((x, y) => (x.repo ?? 1) - (y.repo ?? 1))[0];
  if (!archive) return [...segments];
  const missing: string[] = [];
  for (const segment of segments) {
    const listed = await pgbackrest(env, ["repo-ls", `--repo=${archive.repo ?? 1}`, `archive/${env.PGBACKREST_STANZA}/${archive.id}/${segment.slice(0, 16)}`]);
    if (listed.code !== 0 || !listed.stdout.split("\n").some((f) => f.startsWith(segment))) missing.push(segment);
  }
  return missing;
}

/** After the restore: the primary's history file in pg_wal (postgres's own, 0600). */
export function writeTimelineHistory(pgdata: string, follow: TimelineToFollow): void {
  if (follow.history) writeFileSync(join(pgdata, "pg_wal", follow.history.name), follow.history.content, { mode: 0o600 });
}

/**
 * A timeline history file as its chain: a line is "parent\tLSN\treason", and the next timeline
 * in the chain (the next line's parent, or `timeline` itself) began at LSN.
 */
export function historyChain(history: string, timeline: number): Array<{ parent: number; lsn: bigint; next: number }> {
  const lines = history
    .split("\n")
    .map((l) => l.split(/\s+/))
    .filter(([parent, lsn]) => /^\d+$/.test(parent) && /^[0-9A-F]+\/[0-9A-F]+$/i.test(lsn ?? ""));
  return lines.map(([parent, lsn], i) => ({ parent: Number(parent), lsn: parseLsn(lsn), next: lines[i + 1] ? Number(lines[i + 1][0]) : timeline }));
}

/**
 * The segments recovery must find on the new timelines: every segment where a timeline after
 * `backupTimeline` began, named with the newest timeline that began in or before it (the one
 * recovery reads it from).
 */
export function forkSegments(history: string, timeline: number, backupTimeline: number, segmentBytes: number): string[] {
  const forks = historyChain(history, timeline).map((f) => ({ ...f, segment: f.lsn / BigInt(segmentBytes) }));
  const names = forks
    .filter((f) => f.parent >= backupTimeline)
    .map((f) => {
      const newest = forks.filter((g) => g.segment <= f.segment).at(-1) ?? f;
      return segmentName(newest.next, f.segment, segmentBytes);
    });
  return [...new Set(names)];
}

/** A size as SHOW prints it ("16MB"), in bytes. */
function parseSize(text: string): number {
  const m = text.trim().match(/^(\d+)\s*(B|kB|MB|GB)$/);
  if (!m) throw new UpstreamError("refused", `wal_segment_size answered ${JSON.stringify(text)}`);
  return Number(m[1]) * { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] as "B" | "kB" | "MB" | "GB"];
}

/** Creates the physical slot (reserving WAL from now on) unless it exists. */
export async function ensureSlot(up: Upstream): Promise<"created" | "exists"> {
  const [[type]] = await walsender(up, `READ_REPLICATION_SLOT ${up.slot}`);
  if (type) return "exists";
  await walsender(up, `CREATE_REPLICATION_SLOT ${up.slot} PHYSICAL RESERVE_WAL`);
  return "created";
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL would store for this password (RFC 5802/7677): the
 * runtime hands the server this, never the password, so no log line can show it.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const hmac = (key: Buffer, text: string) => createHmac("sha256", key).update(text).digest();
  const storedKey = createHash("sha256").update(hmac(salted, "Client Key")).digest();
  const serverKey = hmac(salted, "Server Key");
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/**
 * Functions pg_rewind calls on the source server: granted so an old primary can rewind from the
 * new one as the replication role, not as the superuser.
 */
const rewindFunctions = [
  "pg_catalog.pg_ls_dir(text, boolean, boolean)",
  "pg_catalog.pg_stat_file(text, boolean)",
  "pg_catalog.pg_read_binary_file(text)",
  "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)",
];

/**
 * On a writable primary: REPLICATION_USER exists with LOGIN REPLICATION, no superuser, the
 * current password (as a verifier read from the environment with \getenv: not in argv, not in
 * the statement log) and EXECUTE on the pg_rewind functions. Idempotent; run at every start.
 */
export async function ensureReplicationRole(env: Env): Promise<string> {
  if (!env.REPLICATION_PASSWORD) return `skipped: REPLICATION_PASSWORD is not set, so no replica can connect`;
  const script = [
    "\\getenv verifier POSTGRES_BA_REPLICATION_VERIFIER",
    "\\getenv role POSTGRES_BA_REPLICATION_USER",
    "SELECT format(CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role')",
    "  THEN 'ALTER ROLE %I WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L'",
    "  ELSE 'CREATE ROLE %I WITH LOGIN REPLICATION PASSWORD %L' END, :'role', :'verifier') \\gexec",
    ...rewindFunctions.map((f) => `SELECT format('GRANT EXECUTE ON FUNCTION ${f} TO %I', :'role') \\gexec`),
  ].join("\n");
  await psql(env, script, {
    env: { POSTGRES_BA_REPLICATION_VERIFIER: scramVerifier(env.REPLICATION_PASSWORD), POSTGRES_BA_REPLICATION_USER: env.REPLICATION_USER },
  });
  return `role ${env.REPLICATION_USER} ready (LOGIN REPLICATION, password set, may run pg_rewind)`;
}

/** PGDATA is a standby's: PostgreSQL removes standby.signal when it is promoted. */
export function isStandbyData(pgdata: string): boolean {
  return existsSync(join(pgdata, "standby.signal"));
}
