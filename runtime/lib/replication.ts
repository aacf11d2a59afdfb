/**
 * Streaming replication: how a replica reaches its primary (libpq over verified TLS, with the
 * password only in the environment or a 0600 passfile), the physical slot it streams through,
 * and the replication role a primary keeps up to date. Walsender commands (IDENTIFY_SYSTEM,
 * READ_REPLICATION_SLOT, CREATE_REPLICATION_SLOT) need only the REPLICATION attribute, so a
 * replica never needs the superuser's password.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BackupEnv } from "../env/parse.js";
import type { Env } from "../env/table.js";
import { controlData } from "./control-data.js";
import { run } from "./exec.js";
import { log } from "./log.js";
import { pgbackrest } from "./pgbackrest.js";
import { parseLsn, segmentName } from "./recovery-objectives.js";
import { sleep } from "./supervisor.js";
import { psql } from "./postgres.js";
import { readJsonIfExists, runtimeDir, writeJsonAtomic } from "./state.js";
import { tlsPaths } from "./tls-paths.js";
import { UpstreamError } from "../errors.js";

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

/**
 * A copy restored from the repository must follow the primary's timeline, and right after a
 * promotion the repository can still lead it astray: the latest backup is of the old timeline,
 * and the archive holds the old timeline's WAL past the fork (rows the new timeline never had)
 * before it holds the new timeline's history file or the segment in which it forked. Recovery
 * then replays the old timeline past the fork and the copy can never stream from the primary.
 * So: the primary's own history file goes into pg_wal (where recovery also looks for one), and
 * the copy starts only once the archive holds the fork's segment on the new timeline, which
 * recovery prefers to the old one's. Returns the primary's timeline; timeline 1 has no history.
 * Throws UpstreamError when the primary does not answer, or the segment is not archived within
 * `waitMs` (a promotion here archives it within seconds: its `pgbackrest check` switches WAL).
 */
export async function followPrimaryTimeline(env: BackupEnv, up: Upstream, waitMs = 60_000): Promise<number> {
  const { timeline } = await identify(up);
  if (timeline === 1) return timeline;
  // One row of two fields, the file's name and its content (lines of its own): fields apart by a NUL byte.
  const output = await walsenderOutput(up, ["--field-separator-zero"], [`TIMELINE_HISTORY ${timeline}`]);
  const separator = output.indexOf("\0");
  const name = output.slice(0, separator);
  const content = `${output.slice(separator + 1).replace(/\n+$/, "")}\n`;
  const fork = forkPoint(content);
  if (separator < 0 || !/^[0-9A-F]{8}\.history$/.test(name) || !fork) {
    throw new UpstreamError("refused", `TIMELINE_HISTORY ${timeline} answered ${JSON.stringify(output.slice(0, 80))}`);
  }
  writeFileSync(join(env.PGDATA, "pg_wal", name), content, { mode: 0o600 });
  const { walSegmentBytes } = await controlData(env.PGDATA);
  const segment = segmentName(timeline, parseLsn(fork) / BigInt(walSegmentBytes), walSegmentBytes);
  const deadline = Date.now() + waitMs;
  const probe = join(tmpdir(), `postgres-ba-${segment}`);
  try {
    for (let attempt = 1; ; attempt++) {
      if ((await pgbackrest(env, ["archive-get", segment, probe])).code === 0) return timeline;
      if (Date.now() > deadline) {
        throw new UpstreamError(
          "unreachable",
          `the repository does not hold ${segment}, where timeline ${timeline} of ${up.host} began, after ${waitMs / 1000} s`,
        );
      }
      if (attempt === 1) log("follow-timeline", `waiting for ${segment}, where timeline ${timeline} of ${up.host} began, to reach the repository`);
      await sleep(2000);
    }
  } finally {
    rmSync(probe, { force: true });
  }
}

/** Where a timeline history file's newest line says its timeline forked from its parent ("1\t0/3045178\treason"). */
export function forkPoint(history: string): string | undefined {
  const lines = history.split("\n").filter((l) => /^\d+\s/.test(l));
  return lines.at(-1)?.split(/\s+/)[1];
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
