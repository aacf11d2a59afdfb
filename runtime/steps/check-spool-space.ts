/**
 * Asynchronous archiving keeps its queue and status files in pgBackRest's spool directory: on a
 * full disk every archive-push fails and WAL piles up in pg_wal until PostgreSQL's own disk fills.
 * Known before anything starts, so it is one line and nothing is written.
 */
import { statfsSync } from "node:fs";
import { repositoryWritable } from "../env/parse.js";
import { FatalError } from "../errors.js";
import { exitCodes } from "../lib/exit-codes.js";
import { spoolPath } from "../render/pgbackrest-conf.js";
import { did, skipped, type Step } from "./step.js";

/** Room for pgBackRest's queue and status files, and a WAL segment being fetched. */
export const minimumSpoolBytes = 16 * 1024 * 1024;

/** The problem with `freeBytes` free in the spool, or undefined when it is enough (pure). */
export function spoolProblem(freeBytes: number, minimum = minimumSpoolBytes): string | undefined {
  if (freeBytes >= minimum) return undefined;
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${spoolPath} has ${mb(freeBytes)} free, less than the ${mb(minimum)} asynchronous archiving needs: every archive-push would fail and WAL would pile up in pg_wal`;
}

export const checkSpoolSpace: Step = {
  name: "check-spool-space",
  run({ env }) {
    if (!repositoryWritable(env) || !env.ARCHIVE_ASYNC) return skipped("no asynchronous archiving");
    let free: number;
    try {
      const fs = statfsSync(spoolPath);
      free = fs.bavail * fs.bsize;
    } catch {
      return skipped(`${spoolPath} does not exist yet (prepare-directories creates it)`);
    }
    const problem = spoolProblem(free);
    if (problem) {
      throw new FatalError(
        `${problem}; nothing was changed. Fix: free space there, mount a larger volume at ${spoolPath}, or set ARCHIVE_ASYNC=false.`,
        exitCodes.dataDirectory,
      );
    }
    return did(`${spoolPath}: ${(free / 1024 / 1024).toFixed(0)} MB free`);
  },
};
