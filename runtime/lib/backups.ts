/**
 * Backups of a running primary: the one-time bootstrap (stanza-create, archive_command on,
 * first full backup) and single backups. Used by the entrypoint, the schedule and the CLI.
 */
import { writeManagedConf } from "./managed-conf.js";
import { logBackup } from "./log.js";
import { repositoryName, repositoryPathVariable, type BackupEnv } from "../env/parse.js";
import { failureReason, pgbackrest, type BackupType } from "./pgbackrest.js";
import { psql } from "./postgres.js";
import { readStanza } from "./repository.js";
import { notify } from "./notify.js";
import { markStanzaActive } from "./state.js";
import { trustStore, type StoreVerdict } from "./store-probe.js";
import { BackupError, RepositoryError } from "../errors.js";

/** Creates the stanza, turns archiving on, takes the first full backup, marks the stanza active. */
export async function initBackups(env: BackupEnv): Promise<void> {
  await refuseForeignStanza(env);
  await refuseUntrustworthyStore(env);
  const created = await pgbackrest(env, ["stanza-create"]);
  if (created.code !== 0) throw new BackupError(`stanza-create for ${env.PGBACKREST_STANZA} failed: ${failureReason(created)}`);
  logBackup("init-backups", `stanza ${env.PGBACKREST_STANZA} ready in ${repositoryName(env)}`);
  writeManagedConf(env, "pgbackrest");
  await psql(env, "SELECT pg_reload_conf();");
  logBackup("init-backups", "archive_command now pushes WAL to pgBackRest");
  await takeBackup(env, "full");
  markStanzaActive(env.PGDATA, env.PGBACKREST_STANZA);
}

/** Takes one backup and returns its label. */
export async function takeBackup(env: BackupEnv, type: BackupType): Promise<string> {
  const started = Date.now();
  logBackup("backup", `${type} backup started`);
  notify(env, { event: "backup.started", backupType: type });
  const result = await pgbackrest(env, ["backup", `--type=${type}`]);
  if (result.code !== 0) {
    const error = new BackupError(`${type} backup failed: ${failureReason(result)}`);
    notify(env, { event: "backup.failed", backupType: type, error: error.message });
    throw error;
  }
  const label = result.stdout.match(/new backup label = (\S+)/)?.[1] ?? "";
  const note = /no prior backup exists, (\w+) backup has been changed to full/.test(result.stdout) ? " (no prior full backup: taken as full)" : "";
  const seconds = (Date.now() - started) / 1000;
  logBackup("backup", `${type} backup ${label} finished in ${seconds.toFixed(1)} s${note}`);
  notify(env, { event: "backup.succeeded", backupType: type, label, seconds: Math.round(seconds * 10) / 10 });
  return label;
}

/** The store is probed before its first backup: a defect found on the day of the disaster is found too late. */
async function refuseUntrustworthyStore(env: BackupEnv): Promise<void> {
  let verdict: StoreVerdict;
  try {
    verdict = await trustStore(env);
  } catch (e) {
    if (e instanceof RepositoryError) throw new BackupError(e.message);
    throw e;
  }
  logBackup(
    "init-backups",
    "skipped" in verdict
      ? `store probe skipped (${verdict.skipped})`
      : verdict.probe.rangedRead
        ? `the S3 store of ${repositoryName(env)} passed its probe (read after write, listing, ranged read)`
        : `the S3 store of ${repositoryName(env)} answers ranged reads wrongly (${verdict.probe.details.join("; ")}); bundling and block incremental are off, so backups are read whole`,
  );
}

/**
 * A repository path holding another cluster's stanza is never taken over: pgBackRest would
 * refuse too, but only with "backup and archive info files exist but do not match the database".
 * Read-only; nothing in the bucket changes.
 */
async function refuseForeignStanza(env: BackupEnv): Promise<void> {
  const ours = await psql(env, "SELECT system_identifier FROM pg_control_system();");
  let theirs: string[];
  try {
    theirs = (await readStanza(env)).systemIds;
  } catch (e) {
    if (e instanceof RepositoryError) throw new BackupError(e.message);
    throw e;
  }
  if (theirs.length > 0 && !theirs.includes(ours)) {
    throw new BackupError(
      `stanza ${env.PGBACKREST_STANZA} in ${repositoryName(env)} belongs to another cluster (system id ${theirs.join(", ")}; this database is ${ours}); nothing in the repository was changed. ` +
        `Fix: give this database its own ${repositoryPathVariable(env)} or PGBACKREST_STANZA, or remove that stanza if it is no longer needed`,
    );
  }
}
