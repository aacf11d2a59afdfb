/**
 * What the data directory holds, decided once at start, and the one path that follows from it
 * and the settings. Steps no longer re-derive it: the entrypoint's switch runs the steps of the
 * chosen path, and every other path's steps do not run at all.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Env } from "../env/table.js";
import { exitCodes } from "../lib/exit-codes.js";
import { byCodePoint } from "../lib/order.js";
import { readJsonIfExists, readState, restoreMarkerPath, restoreRecordPath, type RestoreRecord } from "../lib/state.js";

export type DataDirectory =
  /** No files at all (or no directory yet). */
  | { kind: "empty" }
  /** Files but no PG_VERSION: not a database, and not ours to delete. */
  | { kind: "not-a-database"; entries: number }
  /** A restore was interrupted: never served until it is resumed. */
  | { kind: "half-restored"; marker: string }
  /** A standby (standby.signal): streams, and becomes a primary only by promotion. */
  | { kind: "standby" }
  /** A restored database still recovering (recovery.signal): it promotes at its target. */
  | { kind: "recovering" }
  /** A primary's data; `ours` when this image created it (its state file), and the restore request last applied to it. */
  | { kind: "primary"; ours: boolean; appliedRestore?: RestoreRecord };

/** PGDATA holds a database: PG_VERSION exists and is not empty. */
export function hasDatabase(pgdata: string): boolean {
  const version = join(pgdata, "PG_VERSION");
  return existsSync(version) && statSync(version).size > 0;
}

export function inspectDataDirectory(pgdata: string): DataDirectory {
  const marker = restoreMarkerPath(pgdata);
  if (existsSync(marker)) return { kind: "half-restored", marker };
  const entries = existsSync(pgdata) ? readdirSync(pgdata).length : 0;
  if (!hasDatabase(pgdata)) return entries === 0 ? { kind: "empty" } : { kind: "not-a-database", entries };
  if (existsSync(join(pgdata, "standby.signal"))) return { kind: "standby" };
  if (existsSync(join(pgdata, "recovery.signal"))) return { kind: "recovering" };
  return { kind: "primary", ours: readState(pgdata) !== undefined, appliedRestore: readJsonIfExists<RestoreRecord>(restoreRecordPath(pgdata)) };
}

type PathEnv = Pick<Env, "PG_MODE" | "RESTORE_FROM_BACKUP" | "RESTORE_DELTA" | "PGDATA"> & Partial<Env>;

export type StartPath =
  /** An empty PGDATA becomes a new database (initdb, initdb.d). */
  | { kind: "initialize" }
  /** Restore from the repository: into an empty PGDATA, over a damaged one (delta), or resuming an interrupted restore. */
  | { kind: "restore"; how: "new" | "delta" | "resume"; request: RestoreRecord["request"] }
  /** An empty PGDATA becomes a replica of PRIMARY_HOST. */
  | { kind: "clone-replica" }
  /** Replica mode on a primary's data: rejoin PRIMARY_HOST (pg_rewind or a fresh clone), or stay a promoted primary. */
  | { kind: "rejoin-or-stay" }
  /** Existing data starts as it is; `notes` say which requests were not acted on, and why. */
  | { kind: "start"; role: "primary" | "standby" | "recovering"; notes: Array<[step: string, reason: string]> }
  | { kind: "refuse"; message: string; exitCode: number };

/** Every RESTORE_* value: the request a user makes, compared with the one last applied. */
export function restoreRequest(env: Partial<Env>): RestoreRecord["request"] {
  return Object.fromEntries(
    Object.entries(env)
      .filter(([name]) => name.startsWith("RESTORE_"))
      .sort(([a], [b]) => byCodePoint(a, b)),
  );
}

export function sameRequest(a: RestoreRecord["request"], b: RestoreRecord["request"]): boolean {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].every((name) => JSON.stringify(a[name] ?? null) === JSON.stringify(b[name] ?? null));
}

/** The one path this start takes (pure: the data directory as inspected, and the settings). */
export function chooseStartPath(env: PathEnv, dir: DataDirectory): StartPath {
  const request = restoreRequest(env);
  switch (dir.kind) {
    case "half-restored":
      if (env.RESTORE_FROM_BACKUP) return { kind: "restore", how: "resume", request };
      return {
        kind: "refuse",
        message:
          `PGDATA ${env.PGDATA} holds an unfinished restore (${dir.marker}); it is not started half restored. ` +
          "Fix: start again with RESTORE_FROM_BACKUP=true to resume it, or empty the volume to initialize a new database.",
        exitCode: exitCodes.dataDirectory,
      };
    case "empty":
      if (env.RESTORE_FROM_BACKUP) return { kind: "restore", how: "new", request };
      return env.PG_MODE === "replica" ? { kind: "clone-replica" } : { kind: "initialize" };
    case "not-a-database":
      if (env.RESTORE_FROM_BACKUP && env.RESTORE_DELTA) return { kind: "restore", how: "delta", request };
      if (env.PG_MODE === "replica") {
        return {
          kind: "refuse",
          message: `PGDATA ${env.PGDATA} is not empty but holds no database (no PG_VERSION); a replica is cloned only into an empty directory. Fix: empty it or use another volume`,
          exitCode: exitCodes.dataDirectory,
        };
      }
      // initdb says what it thinks of a non-empty directory, as in the official image.
      return { kind: "initialize" };
    case "standby":
      if (env.PG_MODE === "primary") {
        return {
          kind: "refuse",
          message:
            `PGDATA ${env.PGDATA} holds a standby (standby.signal) but PG_MODE=primary; a standby becomes a primary only by promotion, never by a restart. ` +
            "Fix: start it with PG_MODE=replica and run `postgres-ba promote` in it, or give this container an empty volume",
          exitCode: exitCodes.dataDirectory,
        };
      }
      return { kind: "start", role: "standby", notes: [["clone-replica", "PGDATA holds a standby: it resumes streaming without a new clone"]] };
    case "recovering":
      return { kind: "start", role: "recovering", notes: [["restore-from-backup", "PGDATA is recovering from a restore: recovery continues"]] };
    case "primary": {
      const notes: Array<[string, string]> = [["init-database", "PostgreSQL Database directory appears to contain a database; Skipping initialization"]];
      if (env.RESTORE_FROM_BACKUP) {
        if (!env.RESTORE_DELTA) {
          notes.unshift([
            "restore-from-backup",
            "PGDATA already holds a database, which is never overwritten; set RESTORE_DELTA=true to repair it with a delta restore",
          ]);
        } else if (dir.appliedRestore && sameRequest(dir.appliedRestore.request, request)) {
          notes.unshift([
            "restore-from-backup",
            `this restore request was already applied to PGDATA at ${dir.appliedRestore.appliedAt} (backup ${dir.appliedRestore.set}): a restart never restores again. ` +
              "To repair again with a delta restore, set RESTORE_REQUEST_ID to a new value (or remove the record beside PGDATA)",
          ]);
        } else {
          return { kind: "restore", how: "delta", request };
        }
      }
      if (env.PG_MODE === "replica") return { kind: "rejoin-or-stay" };
      return { kind: "start", role: "primary", notes };
    }
  }
}
