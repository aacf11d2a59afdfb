/**
 * Backups of a running primary: the one-time bootstrap (stanza-create, archive_command on,
 * first full backup) and single backups. Used by the entrypoint, the schedule and the CLI.
 */
import { backupStandbyArgs } from "./backup-standby.js";
import { writeManagedConf } from "./managed-conf.js";
import { logBackup } from "./log.js";
import { repositories, repositoryName, repositoryPathVariable, repositoryWording, type BackupEnv, type Repository } from "../env/parse.js";
import { failureReason, inRepository, pgbackrest, pgbackrestIn, type BackupType } from "./pgbackrest.js";
import { psql } from "./postgres.js";
import { backupTimeline, readStanza, type StanzaState } from "./repository.js";
import { notify, pingAfterBackup } from "./notify.js";
import { markStanzaActive } from "./state.js";
import { trustStore, type StoreVerdict } from "./store-probe.js";
import { BackupError, RepositoryError } from "../errors.js";

/**
 * Creates the stanza, turns archiving on, takes the first full backup, marks the stanza active.
 * With two repositories each is prepared on its own: archiving starts once one has the stanza,
 * the stanza is active once one has its first full backup (from then on WAL is kept, and the
 * new-repository service brings the other along), and the error names each that failed.
 */
export async function initBackups(env: BackupEnv): Promise<void> {
  const ours = await systemIdentifier(env);
  const failures: string[] = [];
  const ready: Repository[] = [];
  for (const repository of repositories(env)) {
    if (await collect(failures, () => prepareRepository(env, repository, ours))) ready.push(repository);
  }
  if (ready.length === 0) throw new BackupError(failures.join("; "));
  writeManagedConf(env, "pgbackrest");
  await psql(env, "SELECT pg_reload_conf();");
  logBackup("init-backups", "archive_command now pushes WAL to pgBackRest");
  let backedUp = false;
  for (const repository of ready) backedUp = (await collect(failures, () => backupTo(env, repository, "full", { firstFull: true }))) || backedUp;
  if (!backedUp) throw new BackupError(failures.join("; "));
  markStanzaActive(env.PGDATA, env.PGBACKREST_STANZA);
  if (failures.length) {
    throw new BackupError(
      `${failures.join("; ")} (the stanza is active with the other repository's first full backup; a running container brings this one along at its next start)`,
    );
  }
  pingAfterBackup(env);
}

/**
 * A repository new to an active stanza (REPO2_TYPE set since, a promotion, or a first backup that
 * failed there) has no stanza or no backup yet: archive-push fails there, so WAL piles up in
 * pg_wal. The stanza is created in it (the other is not touched) and its first full backup taken.
 * Each repository on its own; the error names each that failed. Returns the repositories it set up.
 */
export async function initNewRepositories(env: BackupEnv): Promise<Repository[]> {
  const ours = await systemIdentifier(env);
  const added: Repository[] = [];
  const failures: string[] = [];
  for (const repository of repositories(env)) {
    await collect(failures, async () => {
      // 1: no stanza path, 3: stanza files missing, 2: a stanza without a backup.
      const code = await prepareRepository(env, repository, ours, [1, 3]);
      if (code !== 1 && code !== 2 && code !== 3) return;
      await backupTo(env, repository, "full", { firstFull: true });
      added.push(repository);
    });
  }
  if (failures.length) throw new BackupError(failures.join("; "));
  return added;
}

/**
 * A promotion's full backup that failed, retried: a full backup of `timeline` in each repository
 * that has none yet (with two, one that is down does not make the other take full after full).
 * Returns the labels taken; throws BackupError while a repository still lacks one.
 */
export async function takeMissingTimelineFull(env: BackupEnv, timeline: number): Promise<string[]> {
  const labels: string[] = [];
  const failures: string[] = [];
  for (const repository of repositories(env)) {
    await collect(failures, async () => {
      const stanza = await readStanza(env, { repo: repository.index }).catch((e: unknown) => {
        throw e instanceof RepositoryError ? new BackupError(e.message) : e;
      });
      if (stanza.backups.some((b) => b.type === "full" && backupTimeline(b) === timeline)) return;
      labels.push(await backupTo(env, repository, "full"));
    });
  }
  if (failures.length) throw new BackupError(failures.join("; "));
  return labels;
}

/** Runs one repository's step; a BackupError is added to `failures` (the other repository goes on). */
async function collect(failures: string[], step: () => Promise<unknown>): Promise<boolean> {
  try {
    await step();
    return true;
  } catch (e) {
    if (!(e instanceof BackupError)) throw e;
    failures.push(e.message);
    return false;
  }
}

async function systemIdentifier(env: BackupEnv): Promise<string> {
  return psql(env, "SELECT system_identifier FROM pg_control_system();");
}

/**
 * One repository made ready for the stanza: read (a foreign stanza is refused), its store probed,
 * the stanza created there (only there: pgbackrestIn) unless `createWhen` leaves it as it is.
 * Returns pgBackRest's stanza status code there before anything was created.
 */
async function prepareRepository(env: BackupEnv, repository: Repository, ours: string, createWhen?: number[]): Promise<number> {
  let state: StanzaState;
  try {
    state = await readStanza(env, { repo: repository.index });
  } catch (e) {
    if (e instanceof RepositoryError) throw new BackupError(e.message);
    throw e;
  }
  refuseForeignStanza(env, repository, state.systemIds, ours);
  if (createWhen && !createWhen.includes(state.code)) return state.code;
  await refuseUntrustworthyStore(repository);
  // One repository: as pgBackRest is usually run. Two: each on its own, so one that is down does not stop the other.
  const created = await (env.secondRepository ? pgbackrestIn(env, repository, ["stanza-create"]) : pgbackrest(env, ["stanza-create"]));
  if (created.code !== 0) {
    const where = env.secondRepository ? ` in ${repositoryName(repository.settings)}` : "";
    throw new BackupError(`stanza-create for ${env.PGBACKREST_STANZA}${where} failed: ${inRepository(repository, failureReason(created))}`);
  }
  logBackup("init-backups", `stanza ${env.PGBACKREST_STANZA} ready in ${repositoryName(repository.settings)}`);
  return state.code;
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
  for (const repository of repositories(env)) await collect(failures, async () => labels.push(await backupTo(env, repository, type)));
  if (failures.length) throw new BackupError(failures.join("; "));
  pingAfterBackup(env);
  return labels[0];
}

/** firstFull: a repository's first full backup, taken from the primary when no standby answers even with BACKUP_FROM_STANDBY=require (replicas may wait for it). */
async function backupTo(env: BackupEnv, repository: Repository, type: BackupType, { firstFull = false } = {}): Promise<string> {
  const started = Date.now();
  // Named only with two repositories: one reads as it always did.
  const where = env.secondRepository ? ` in repository ${repository.index} (${repositoryName(repository.settings)})` : "";
  const event = { backupType: type, repository: repository.index };
  logBackup("backup", `${type} backup started${where}`);
  notify(env, { event: "backup.started", ...event });
  let standby: string[];
  try {
    standby = backupStandbyArgs(env, firstFull ? "prefer" : env.BACKUP_FROM_STANDBY);
  } catch (e) {
    if (!(e instanceof BackupError)) throw e;
    notify(env, { event: "backup.failed", ...event, error: e.message });
    throw e;
  }
  const result = await pgbackrest(env, ["backup", `--type=${type}`, `--repo=${repository.index}`, ...standby]);
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
 * Read-only; nothing in the repository changes.
 */
function refuseForeignStanza(env: BackupEnv, repository: Repository, theirs: string[], ours: string): void {
  if (theirs.length > 0 && !theirs.includes(ours)) {
    throw new BackupError(
      repositoryWording(
        repository,
        `stanza ${env.PGBACKREST_STANZA} in ${repositoryName(repository.settings)} belongs to another cluster (system id ${theirs.join(", ")}; this database is ${ours}); nothing in the repository was changed. ` +
          `Fix: give this database its own ${repositoryPathVariable(repository.settings)} or PGBACKREST_STANZA, or remove that stanza if it is no longer needed`,
      ),
    );
  }
}
