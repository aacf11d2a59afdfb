/**
 * WAL pushed ahead to the repositories that work while another one fails (two repositories only).
 * PostgreSQL archives segments in order and retries the oldest until archive-push succeeds, and
 * pgBackRest (2.59 and later) ends an asynchronous archive-push run at its first error: with one
 * repository down, the other would get no WAL past the first segment the failing one lacks, and
 * no backup either, since a backup waits for its last segment to be in its repository. So while
 * segments wait in pg_wal, each repository is given them through its own configuration
 * (pgbackrestIn), each repository on its own, so a slow one does not hold up the other.
 * archive-push accepts a segment a repository already holds with the same checksum, so
 * PostgreSQL's own push later finds it there and moves on.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { repositories, repositoryName, type BackupEnv, type Repository } from "../env/parse.js";
import { logBackup } from "./log.js";
import { failureReason, pgbackrestIn } from "./pgbackrest.js";
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
    async run(signal) {
      while (!signal.aborted) {
        const waiting = readWaiting(env.PGDATA);
        await Promise.all(repositories(env).map((r) => pushAhead(env, r, waiting, given.get(r.index)!, failing)));
        await sleep(walAheadPolicy.intervalMs, signal);
      }
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

/** Gives one repository the waiting files it does not have yet, oldest first, until one fails. */
async function pushAhead(env: BackupEnv, repository: Repository, waiting: string[], given: Set<string>, failing: Map<number, boolean>): Promise<void> {
  for (const name of given) if (!waiting.includes(name)) given.delete(name);
  const pushed: string[] = [];
  for (const name of waiting.filter((n) => !given.has(n))) {
    const result = await pgbackrestIn(env, repository, ["--no-archive-async", "archive-push", join(env.PGDATA, "pg_wal", name)], { timeoutMs: 300_000 });
    if (result.code !== 0) {
      // Once per outage: the next success says it is over.
      if (!failing.get(repository.index))
        logBackup("wal-ahead", `repository ${repository.index} (${repositoryName(repository.settings)}) takes no WAL: ${failureReason(result)}`, true);
      failing.set(repository.index, true);
      break;
    }
    given.add(name);
    pushed.push(name);
  }
  if (pushed.length) {
    failing.set(repository.index, false);
    logBackup(
      "wal-ahead",
      `repository ${repository.index} (${repositoryName(repository.settings)}) has ${pushed.length} more WAL file(s) while archiving waits on another repository, up to ${pushed[pushed.length - 1]}`,
    );
  }
}
