/**
 * The runtime's own marker in PGDATA, so every start knows what this data directory is:
 * - absent: a database this image did not create (adopted): backups wait for `init-backups`;
 * - backups "pending": created here, stanza or first full backup not done yet (retried);
 * - backups "active": stanza created and first full backup taken for `stanza`.
 * It lives in PGDATA so backups, restores and clones carry it along with the data.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface RuntimeState {
  backups: "pending" | "active";
  stanza?: string;
  initializedAt: string;
  activeSince?: string;
}

export const stateFileName = "postgres-ba.state.json";

/** A JSON file's content, or undefined when the file does not exist. */
export function readJsonIfExists<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

export function readState(pgdata: string): RuntimeState | undefined {
  return readJsonIfExists<RuntimeState>(join(pgdata, stateFileName));
}

/** Writes JSON by atomic replace (0600), so a crash never leaves half a file. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export function writeState(pgdata: string, state: RuntimeState): void {
  writeJsonAtomic(join(pgdata, stateFileName), state);
}

/** Records that `stanza` holds this database's backups: WAL is archived and the schedule runs. */
export function markStanzaActive(pgdata: string, stanza: string): void {
  const previous = readState(pgdata);
  const now = new Date().toISOString();
  writeState(pgdata, {
    initializedAt: previous?.initializedAt ?? now,
    backups: "active",
    stanza,
    activeSince: previous?.backups === "active" && previous.stanza === stanza ? (previous.activeSince ?? now) : now,
  });
}

export type BackupState = "active" | "pending" | "adopted";

/** What this data directory needs before WAL can be archived and scheduled backups run. */
export function backupState(pgdata: string, stanza: string | undefined): BackupState {
  const state = readState(pgdata);
  if (!state) return "adopted";
  return state.backups === "active" && state.stanza === stanza ? "active" : "pending";
}

/**
 * The "restore in progress" marker: beside PGDATA (pgBackRest needs PGDATA itself empty), in a
 * directory on the same volume that prepare-directories hands to postgres.
 */
export function runtimeDir(pgdata: string): string {
  return join(dirname(pgdata), ".postgres-ba");
}

export function restoreMarkerPath(pgdata: string): string {
  return join(runtimeDir(pgdata), `${basename(pgdata)}.restore-in-progress`);
}

/**
 * The restore request (every RESTORE_* value) last applied to this data directory, beside PGDATA
 * so a delta restore, which removes files the backup does not hold, cannot take it away.
 */
export function restoreRecordPath(pgdata: string): string {
  return join(runtimeDir(pgdata), `${basename(pgdata)}.restore-applied.json`);
}

export interface RestoreRecord {
  request: Record<string, unknown>;
  set: string;
  appliedAt: string;
}

/** Removes what a directory holds, keeping the directory (a volume's mount point, say). */
export function emptyDirectory(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
}
