/** Thin helpers over PostgreSQL's own programs, all through the one exec helper. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Env } from "../env/table.js";
import { runOk } from "./exec.js";
import { shellQuote } from "./shell-words.js";

export const socketDir = "/var/run/postgresql";

/**
 * Runs SQL over a unix socket as the superuser (the server's own socket unless `host`/`port`
 * name another, as the restore drill's private server); psql variables are passed, never spliced in.
 */
export async function psql(
  env: Env,
  sql: string,
  opts: { db?: string; vars?: Record<string, string>; host?: string; port?: number; env?: Record<string, string> } = {},
): Promise<string> {
  const varArgs = Object.entries(opts.vars ?? {}).flatMap(([k, v]) => ["--set", `${k}=${v}`]);
  const { stdout } = await runOk(
    "psql",
    [
      "-v",
      "ON_ERROR_STOP=1",
      "--no-psqlrc",
      "--tuples-only",
      "--no-align",
      "-h",
      opts.host ?? socketDir,
      "-p",
      String(opts.port ?? env.POSTGRES_PORT),
      "--username",
      env.POSTGRES_USER,
      "--dbname",
      opts.db ?? "postgres",
      ...varArgs,
    ],
    // opts.env carries values that must stay out of argv (read in SQL with \getenv).
    { input: sql, env: { ...opts.env, PGPASSWORD: env.POSTGRES_PASSWORD } },
  );
  return stdout.trim();
}

/** Starts a server that listens on the unix socket only, so nobody connects to a half-initialized database. */
export async function startTempServer(env: Env, serverArgs: string[]): Promise<void> {
  const options = [...serverArgs, "-c", "listen_addresses=", "-p", String(env.POSTGRES_PORT)].map(shellQuote).join(" ");
  await runOk("pg_ctl", ["-D", env.PGDATA, "-o", options, "-w", "start"], {
    stream: true,
    env: { PGUSER: env.POSTGRES_USER, NOTIFY_SOCKET: undefined },
  });
}

export async function stopTempServer(env: Env): Promise<void> {
  await runOk("pg_ctl", ["-D", env.PGDATA, "-m", "fast", "-w", "stop"], { stream: true });
}

/** When this process started, in epoch seconds: a postmaster.pid older than that is a previous run's. */
const startedAt = Math.floor(Date.now() / 1000 - process.uptime());

/**
 * Whether a postmaster started by this run accepts connections, as it records in postmaster.pid
 * (the start time on line 3, "ready" on line 8 once it accepts connections; `pg_ctl -w` reads
 * the same): a file read per poll instead of a pg_isready process. A file left by an earlier run
 * (a crash) is older than this process and does not count.
 */
export async function isReady(env: Env): Promise<boolean> {
  return postmasterReady(readPidFile(env.PGDATA), startedAt);
}

function readPidFile(pgdata: string): string | undefined {
  try {
    return readFileSync(join(pgdata, "postmaster.pid"), "utf8");
  } catch {
    return undefined;
  }
}

export function postmasterReady(pidFile: string | undefined, notBefore: number): boolean {
  const lines = pidFile?.split("\n") ?? [];
  return Number(lines[2]) >= notBefore && lines[7]?.trim() === "ready";
}

/** pg_is_in_recovery(); a server that does not answer counts as in recovery (not writable). */
export async function inRecovery(env: Env): Promise<boolean> {
  return (await psql(env, "SELECT pg_is_in_recovery();").catch(() => "t")) === "t";
}
