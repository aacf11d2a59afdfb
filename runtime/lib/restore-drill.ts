/**
 * `postgres-ba verify --restore`: proves the newest backup restores and starts, inside the
 * running container and without touching the live database or the repository. The backup is
 * restored into a scratch directory beside PGDATA (same volume, so the space is there),
 * recovered to its consistency point, started on a private unix socket with archiving forced
 * off, queried, stopped and deleted.
 */
import { type Dirent, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { BackupEnv } from "../env/parse.js";
import { lastLines, run } from "./exec.js";
import { archiveGetCommand, failureReason, pgbackrest, restoredBackupSet } from "./pgbackrest.js";
import { psql } from "./postgres.js";
import { pgbackrestChildEnv } from "../render/pgbackrest-conf.js";
import { writeDrillRecord } from "./recovery-objectives.js";
import { runtimeDir } from "./state.js";

export interface DrillResult {
  ok: boolean;
  summary: string;
  label?: string;
  /** The restored data directory's size, once the server answered. */
  bytes?: number;
  /** When the restored server answered its first query (epoch ms). */
  answeredAt?: number;
}

/**
 * Runs the drill and records its outcome beside PGDATA (restore-drill.json): the recovery time
 * `postgres-ba status` and the metrics report is this measurement.
 */
export async function restoreDrill(env: BackupEnv): Promise<DrillResult> {
  const started = Date.now();
  // The recovery time ends when the restored server answered, not after its stop and clean-up.
  const record = ({ answeredAt, ...result }: DrillResult) =>
    writeDrillRecord(env.PGDATA, { finishedAt: new Date().toISOString(), seconds: Math.round(((answeredAt ?? Date.now()) - started) / 100) / 10, ...result });
  let result: DrillResult;
  try {
    result = await drill(env, started);
  } catch (e) {
    record({ ok: false, summary: `restore drill FAILED: ${(e as Error).message}` });
    throw e;
  }
  record(result);
  return result;
}

async function drill(env: BackupEnv, started: number): Promise<DrillResult> {
  const dir = join(runtimeDir(env.PGDATA), `drill-${Date.now()}`);
  const data = join(dir, "data");
  mkdirSync(data, { recursive: true, mode: 0o700 });
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const port = env.POSTGRES_PORT + 1;
  try {
    // Another drill (the scheduled one, or a person's) holds pgBackRest's restore lock: wait for
    // it instead of failing; the lock is taken before anything is written, so the retry is clean.
    // Its restore_command fetches WAL synchronously: two drills at once collided in the async spool.
    const restoreCommand = archiveGetCommand(env, data);
    const args = [
      "restore",
      `--pg1-path=${data}`,
      "--type=immediate",
      "--target-action=promote",
      "--archive-mode=off",
      `--recovery-option=restore_command=${restoreCommand}`,
    ];
    const deadline = Date.now() + 30 * 60_000;
    let restored = await pgbackrest(env, args);
    while (restored.code !== 0 && /ERROR: \[050\]/.test(restored.stdout + restored.stderr) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2000));
      restored = await pgbackrest(env, args);
    }
    if (restored.code !== 0) return { ok: false, summary: `restore drill FAILED: restore: ${failureReason(restored)}` };
    const label = restoredBackupSet(restored.stdout) ?? "latest";
    const options = ["-c listen_addresses=''", `-c unix_socket_directories=${dir}`, `-c port=${port}`, "-c archive_mode=off", "-c shared_buffers=32MB"].join(
      " ",
    );
    // Its restore_command runs pgBackRest, which needs the keys like every other pgBackRest run.
    const start = await run("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "server.log"), "-w", "-t", "300", "start"], {
      env: pgbackrestChildEnv(env, process.env),
    });
    if (start.code !== 0) {
      const log = existsSync(join(dir, "server.log")) ? readFileSync(join(dir, "server.log"), "utf8") : start.stdout;
      return {
        ok: false,
        summary: `restore drill FAILED: backup ${label} restored but the server did not start: ${lastLines(
          log
            .split("\n")
            .filter((l) => /FATAL|PANIC|ERROR/.test(l))
            .join("\n") || log,
        )}`,
      };
    }
    try {
      const sql = (q: string) => psql(env, q, { host: dir, port });
      for (let i = 0; i < 600 && (await sql("SELECT pg_is_in_recovery()")) === "t"; i++) await new Promise((r) => setTimeout(r, 500));
      const databases = await sql("SELECT string_agg(datname, ', ' ORDER BY datname) FROM pg_database WHERE NOT datistemplate");
      const answeredAt = Date.now();
      const summary = `restore drill passed: backup ${label} restored, started and answered (databases: ${databases}) in ${elapsed()}`;
      return { ok: true, summary, label, bytes: directoryBytes(data), answeredAt };
    } finally {
      await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Bytes in the files under `dir` (symbolic links not followed). The server is running: a file
 * its checkpoint removes between the listing and the stat counts as gone, not as an error.
 */
function directoryBytes(dir: string): number {
  const gone = (e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw e;
  };
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    return gone(e);
  }
  return entries.reduce((sum, e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sum + directoryBytes(p);
    try {
      return sum + lstatSync(p).size;
    } catch (err) {
      return sum + gone(err);
    }
  }, 0);
}
