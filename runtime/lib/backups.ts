/**
 * Backups of a running primary: the one-time bootstrap (stanza-create, archive_command on,
 * first full backup) and single backups. Used by the entrypoint, the schedule and the CLI.
 */
import { writeManagedConf } from "./managed-conf.js";
import { logBackup } from "./log.js";
import { repositories, repositoryName, repositoryPathVariable, repositoryWording, type BackupEnv, type Repository } from "../env/parse.js";
import { failureReason, pgbackrest, type BackupType } from "./pgbackrest.js";
import { psql } from "./postgres.js";
import { readStanza } from "./repository.js";
import { notify, pingAfterBackup } from "./notify.js";
import { markStanzaActive } from "./state.js";
import { trustStore, type StoreVerdict } from "./store-probe.js";
import { BackupError, RepositoryError } from "../errors.js";

/** Creates the stanza, turns archiving on, takes the first full backup, marks the stanza active. */
export async function initBackups(env: BackupEnv): Promise<void> {
  await refuseForeignStanza(env);
  for (const repository of repositories(env)) await refuseUntrustworthyStore(repository);
  // In every repository at once: a stanza missing from one would make archive-push fail there forever.
  const created = await pgbackrest(env, ["stanza-create"]);
  if (created.code !== 0) throw new BackupError(`stanza-create for ${env.PGBACKREST_STANZA} failed: ${failureReason(created)}`);
  logBackup("init-backups", `stanza ${env.PGBACKREST_STANZA} ready in ${repositoryNames(env)}`);
  writeManagedConf(env, "pgbackrest");
  await psql(env, "SELECT pg_reload_conf();");
  logBackup("init-backups", "archive_command now pushes WAL to pgBackRest");
  await takeBackup(env, "full");
  markStanzaActive(env.PGDATA, env.PGBACKREST_STANZA);
}

/**
 * A repository added to an active stanza (REPO2_TYPE set since, or moved) has no stanza yet, so
 * archive-push fails there and WAL piles up in pg_wal: the stanza is created in it (the others
 * are left as they are) and its first full backup taken. Returns the repositories it set up.
 */
export async function initNewRepositories(env: BackupEnv): Promise<Repository[]> {
  const added: Repository[] = [];
  for (const repository of repositories(env)) {
    let code: number;
    try {
      code = (await readStanza(env, { repo: repository.index })).code;
    } catch (e) {
      if (e instanceof RepositoryError) throw new BackupError(e.message);
      throw e;
    }
    // 1: no stanza path; 3: stanza files missing.
    if (code !== 1 && code !== 3) continue;
    await refuseUntrustworthyStore(repository);
    const created = await pgbackrest(env, ["stanza-create"]);
    if (created.code !== 0) throw new BackupError(`stanza-create for ${env.PGBACKREST_STANZA} failed: ${failureReason(created)}`);
    logBackup("init-backups", `stanza ${env.PGBACKREST_STANZA} ready in ${repositoryName(repository.settings)}, a repository new to it`);
    await backupTo(env, repository, "full");
    added.push(repository);
  }
  return added;
}

/** Every repository, as log lines name them: "s3://bucket/path and /var/lib/pgbackrest-copy". */
function repositoryNames(env: BackupEnv): string {
  return repositories(env)
    .map((r) => repositoryName(r.settings))
    .join(" and ");
}

/**
 * Takes one backup in each repository (one after the other: pgBackRest backs up to one repository
 * per run) and returns the first one's label. A repository that fails does not keep the backup
 * from the others; the error names every one that failed. The ping (a dead man's switch) goes out
 * only when every repository has its backup.
 */
export async function takeBackup(env: BackupEnv, type: BackupType): Promise<string> {
  const labels: string[] = [];
  const failures: string[] = [];
  for (const repository of repositories(env)) {
    try {
      labels.push(await backupTo(env, repository, type));
    } catch (e) {
      if (!(e instanceof BackupError)) throw e;
      failures.push(e.message);
    }
  }
  if (failures.length) throw new BackupError(failures.join("; "));
  pingAfterBackup(env);
  return labels[0];
}

async function backupTo(env: BackupEnv, repository: Repository, type: BackupType): Promise<string> {
  const started = Date.now();
  // Named only with two repositories: one reads as it always did.
  const where = env.secondRepository ? ` in repository ${repository.index} (${repositoryName(repository.settings)})` : "";
  const event = { backupType: type, repository: repository.index };
  logBackup("backup", `${type} backup started${where}`);
  notify(env, { event: "backup.started", ...event });
  const result = await pgbackrest(env, ["backup", `--type=${type}`, `--repo=${repository.index}`]);
  if (result.code !== 0) {
    const error = new BackupError(`${type} backup failed${where}: ${failureReason(result)}`);
    notify(env, { event: "backup.failed", ...event, error: error.message });
    throw error;
  }
  const label = result.stdout.match(/new backup label = (\S+)/)?.[1] ?? "";
  const note = /no prior backup exists, (\w+) backup has been changed to full/.test(result.stdout) ? " (no prior full backup: taken as full)" : "";
  const seconds = (Date.now() - started) / 1000;
  logBackup("backup", `${type} backup ${label} finished in ${seconds.toFixed(1)} s${where}${note}`);
  notify(env, { event: "backup.succeeded", ...event, label, seconds: Math.round(seconds * 10) / 10 });
  return label;
}

/** The store is probed before its first backup: a defect found on the day of the disaster is found too late. */
async function refuseUntrustworthyStore(repository: Repository): Promise<void> {
  const env = repository.settings;
  let verdict: StoreVerdict;
  try {
    verdict = await trustStore(env);
  } catch (e) {
    if (e instanceof RepositoryError) throw new BackupError(repositoryWording(repository, e.message));
    throw e;
  }
  logBackup(
    "init-backups",
    repositoryWording(
      repository,
      "skipped" in verdict
        ? `store probe skipped (${verdict.skipped})`
        : verdict.probe.rangedRead
          ? `the S3 store of ${repositoryName(env)} passed its probe (read after write, listing, ranged read)`
          : `the S3 store of ${repositoryName(env)} answers ranged reads wrongly (${verdict.probe.details.join("; ")}); bundling and block incremental are off, so backups are read whole`,
    ),
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
      `stanza ${env.PGBACKREST_STANZA} in ${repositoryNames(env)} belongs to another cluster (system id ${theirs.join(", ")}; this database is ${ours}); nothing in the repository was changed. ` +
        `Fix: give this database its own ${repositoryPathVariable(env)} or PGBACKREST_STANZA, or remove that stanza if it is no longer needed`,
    );
  }
}
