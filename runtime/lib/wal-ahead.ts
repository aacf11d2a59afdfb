/**
 * WAL pushed ahead to the repositories that work while another one fails (two repositories only).
 * PostgreSQL archives segments in order and retries the oldest until archive-push succeeds, and
 * pgBackRest (2.59 and later) ends an asynchronous archive-push run at its first error: with one
 * repository down, the other would get no WAL past the first segment the failing one lacks, and
 * no backup either, since a backup waits for its last segment to be in its repository. So while
 * segments wait in pg_wal, each repository is given them through its own configuration
 * (pgbackrestIn), each repository on its own, so a slow one does not hold up the other, and only
 * while archiving fails (pg_stat_archiver).
 * archive-push accepts a segment a repository already holds with the same checksum, so
 * PostgreSQL's own push later finds it there and moves on.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { repositories, repositoryName, type BackupEnv, type Repository } from "../env/parse.js";
import { logBackup } from "./log.js";
import { failureReason, inRepository, pgbackrestIn } from "./pgbackrest.js";
import { gatherArchiving } from "./status.js";
import { sleep, type Service } from "./supervisor.js";

/** How often pg_wal is looked at, and how long a segment waits for PostgreSQL's own push before it is pushed ahead. */
export const walAheadPolicy = { intervalMs: 2000, waitingMs: 10_000 };

/** The files (segments, history files) that have waited for archiving at least `waitingMs`, oldest name first. */
export function waitingFiles(statusEntries: ReadonlyArray<{ name: string; mtimeMs: number }>, now: number, waitingMs: number): string[] {
  return statusEntries
    .filter((e) => e.name.endsWith(".ready") && now - e.mtimeMs >= waitingMs)
    .map((e) => e.name.slice(0, -".ready".length))
    .sort();
}

export function walAheadService(env: BackupEnv): Service {
  // Outside run(): a restarted service remembers what each repository has been given.
  const given = new Map<number, Set<string>>(repositories(env).map((r) => [r.index, new Set<string>()]));
  const failing = new Map<number, boolean>();
  return {
    name: "wal-ahead",
    // One loop per repository: a push that hangs on one (an endpoint that does not answer) does not hold up the other.
    async run(signal) {
      await Promise.all(
        repositories(env).map(async (r) => {
          while (!signal.aborted) {
            // A round that fails (the server restarting, say) is logged and the loop goes on:
            // rejecting would restart the service beside the other repository's loop, still running.
            await pushAhead(env, r, given.get(r.index)!, failing).catch((e: Error) => logBackup("wal-ahead", `repository ${r.index}: ${e.message}`, true));
            await sleep(walAheadPolicy.intervalMs, signal);
          }
        }),
      );
    },
  };
}

function readWaiting(pgdata: string): string[] {
  const dir = join(pgdata, "pg_wal", "archive_status");
  const entries = readdirSync(dir).flatMap((name) => {
    try {
      return [{ name, mtimeMs: statSync(join(dir, name)).mtimeMs }];
    } catch {
      return []; // archived (renamed to .done) meanwhile
    }
  });
  return waitingFiles(entries, Date.now(), walAheadPolicy.waitingMs);
}

/**
 * Gives one repository the waiting files it does not have yet, oldest first, until one fails;
 * only while archiving fails (a slow push is PostgreSQL's to finish, not a reason to push twice).
 */
async function pushAhead(env: BackupEnv, repository: Repository, given: Set<string>, failing: Map<number, boolean>): Promise<void> {
  const waiting = readWaiting(env.PGDATA);
  for (const name of given) if (!waiting.includes(name)) given.delete(name);
  const next = waiting.filter((n) => !given.has(n));
  if (next.length === 0 || !(await gatherArchiving(env)).failing) return;
  const pushed: string[] = [];
  const where = `repository ${repository.index} (${repositoryName(repository.settings)})`;
  for (const name of next) {
    // Archived and perhaps recycled since it was listed: nothing left to give.
    if (!existsSync(join(env.PGDATA, "pg_wal", "archive_status", `${name}.ready`))) continue;
    const result = await pgbackrestIn(env, repository, ["--no-archive-async", "archive-push", join(env.PGDATA, "pg_wal", name)], { timeoutMs: 300_000 });
    if (result.code !== 0) {
      if (!existsSync(join(env.PGDATA, "pg_wal", "archive_status", `${name}.ready`))) continue;
      // Once per outage: the next success says it is over.
      if (!failing.get(repository.index)) logBackup("wal-ahead", `${where} takes no WAL: ${inRepository(repository, failureReason(result))}`, true);
      failing.set(repository.index, true);
      break;
    }
    given.add(name);
    pushed.push(name);
  }
  if (pushed.length) {
    failing.set(repository.index, false);
    logBackup("wal-ahead", `${where} has ${pushed.length} more WAL file(s) while archiving fails on another repository, up to ${pushed[pushed.length - 1]}`);
  }
}
