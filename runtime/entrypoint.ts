/**
 * The container's lifecycle, in order. Reads like a table of contents: preflight checks and the
 * lock, the data directory's state decided once and the one path that follows from it (a switch
 * in stepsFor), small named steps (steps/, one log line each, idempotent), then the server and
 * its optional services under one supervisor.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { chooseStartPath, hasDatabase, inspectDataDirectory, type StartPath } from "./datadir/state.js";
import { backupsEnabled, parseEnv } from "./env/parse.js";
import type { Env } from "./env/table.js";
import { standbyServerService } from "./lib/backup-standby.js";
import { run } from "./lib/exec.js";
import { log, logError, logReport, logStrayErrors } from "./lib/log.js";
import { inRecovery, isReady } from "./lib/postgres.js";
import { clearReady, markReady, releaseStartupGarbage } from "./lib/readiness.js";
import { runServer } from "./lib/server.js";
import { type Service, Supervisor, waitFor } from "./lib/supervisor.js";
import { describeServer, startBackupServices } from "./services.js";
import { becomeAccount, isRoot, postgresAccount } from "./lib/user.js";
import { pgbackrestChildEnv } from "./render/pgbackrest-conf.js";
import { completePromotion } from "./lib/promotion.js";
import { ensureReplicationRole, isStandbyData, upstreamOf } from "./lib/replication.js";
import { checkOldLayout } from "./steps/check-old-layout.js";
import { checkPermissions } from "./steps/check-permissions.js";
import { checkPortsFree } from "./steps/check-ports-free.js";
import { checkPrimaryRole } from "./steps/check-primary-role.js";
import { checkSpoolSpace } from "./steps/check-spool-space.js";
import { clearStaleLock } from "./steps/clear-stale-lock.js";
import { cloneReplica } from "./steps/clone-replica.js";
import { configurePgbackrest } from "./steps/configure-pgbackrest.js";
import { configurePostgres } from "./steps/configure-postgres.js";
import { ensureTls } from "./steps/ensure-tls.js";
import { initDatabase } from "./steps/init-database.js";
import { lockDataDirectoryStep } from "./steps/lock-data-directory.js";
import { prepareDirectories } from "./steps/prepare-directories.js";
import { rejoinAsReplica } from "./steps/rejoin-as-replica.js";
import { restoreFromBackup } from "./steps/restore-from-backup.js";
import { type Context, runStep, type Step } from "./steps/step.js";
import { verifyMinimumEnv } from "./steps/verify-minimum-env.js";
import { waitForStore } from "./steps/wait-for-store.js";
import { checkBootstrapFinished, checkPatroni, haMember } from "./ha-member.js";
import { FatalError } from "./errors.js";

/** Before anything is written: checks that touch nothing, then the data directory's lock. */
const preflight: Step[] = [checkOldLayout, checkPortsFree, checkPermissions, checkSpoolSpace, lockDataDirectoryStep];

/**
 * HA_MODE=patroni: Patroni and its store checked too, every local refusal before the wait for
 * the store (a member that cannot start anyway says why at once), the lock last.
 */
const haPreflight: Step[] = [
  checkPatroni,
  ...preflight.filter((s) => s !== lockDataDirectoryStep),
  checkBootstrapFinished,
  waitForStore,
  lockDataDirectoryStep,
];

/**
 * The steps of each path, as postgres after the privilege drop. pgbackrest.conf comes first (a
 * restore needs it); the data directory's role is settled (restored, rejoined, cloned; never a
 * second writable primary) before TLS and init, so a refused start has written nothing.
 */
function stepsFor(path: StartPath): Step[] {
  switch (path.kind) {
    case "initialize":
      return [configurePgbackrest, ensureTls, initDatabase, configurePostgres];
    case "restore":
      // A delta repair may find the postmaster.pid of a crash: pgBackRest refuses to restore over it.
      return [configurePgbackrest, clearStaleLock, restoreFromBackup, ensureTls, configurePostgres];
    case "clone-replica":
      return [configurePgbackrest, cloneReplica, ensureTls, configurePostgres];
    case "rejoin-or-stay":
      // The rejoin decides: rewound (a standby), moved aside (empty: a fresh clone), or it stays a primary.
      return [configurePgbackrest, clearStaleLock, rejoinAsReplica, cloneReplica, checkPrimaryRole, ensureTls, configurePostgres];
    case "start":
      // The role is checked before the stale postmaster.pid of a crash is cleared: a refused
      // start leaves the data directory byte for byte as it found it.
      return path.role === "primary"
        ? [configurePgbackrest, checkPrimaryRole, clearStaleLock, ensureTls, configurePostgres]
        : [configurePgbackrest, clearStaleLock, ensureTls, configurePostgres];
    case "refuse":
      throw new FatalError(path.message, path.exitCode, "data-directory");
  }
}

export async function entrypoint(argv: string[]): Promise<number> {
  // `docker run image -c shared_buffers=1GB` means "postgres with these flags", as upstream.
  const args = argv[0]?.startsWith("-") ? ["postgres", ...argv] : argv.length ? argv : ["postgres"];
  if (args[0] !== "postgres" || wantsHelp(args)) return execOther(args);

  const env = parseEnv(process.env);
  const account = postgresAccount();
  const ctx: Context = { env, serverArgs: args.slice(1), account, hasDatabase: () => hasDatabase(env.PGDATA) };
  for (const step of env.HA_MODE === "patroni" ? haPreflight : preflight) await runStep(step, ctx);
  // HA_MODE=patroni: Patroni decides the data directory's path and runs the server.
  if (env.HA_MODE === "patroni") return haMember(ctx);

  // The data directory's state, decided once under the lock; one path follows from it.
  const dataDirectory = inspectDataDirectory(env.PGDATA);
  const path = chooseStartPath(env, dataDirectory);
  log("data-directory", `${dataDirectory.kind}: ${path.kind === "start" ? `start as ${path.role}` : path.kind}`);
  const steps = stepsFor(path);
  ctx.path = path;
  if (path.kind === "initialize") await runStep(verifyMinimumEnv, ctx);
  await runStep(prepareDirectories, ctx);
  if (isRoot()) becomeAccount(account);
  if (path.kind === "start") for (const [step, reason] of path.notes) log(step, `skipped: ${reason}`);
  for (const step of steps) await runStep(step, ctx);

  // From here on PostgreSQL runs: a stray rejection or exception in an optional part is logged,
  // never allowed to end the process that holds the server.
  logStrayErrors();

  clearReady();
  const childEnv = backupsEnabled(env) ? pgbackrestChildEnv(env, process.env) : {};
  const standby = isStandbyData(env.PGDATA);
  if (!standby && endsRecoveryAtTarget(env)) {
    const status = await recoverWithoutTcp(env, ctx.serverArgs, childEnv);
    if (status !== undefined) return status;
  }
  const server = runServer(env, ctx.serverArgs, childEnv);
  const supervisor = new Supervisor(logReport);
  void supervisor.start(readinessService(env, supervisor, standby));
  const status = await server.exited;
  supervisor.stop();
  log("entrypoint", `PostgreSQL exited with status ${status}`);
  return status;
}

/**
 * A restore (or a crash during its recovery) whose recovery ends at the target, in a promotion or
 * a shutdown: recovery.signal is there. Neither may be served before it ends (a shutdown never
 * is); pause is, read-only, as it asks.
 */
function endsRecoveryAtTarget(env: Env): boolean {
  return existsSync(join(env.PGDATA, "recovery.signal")) && env.RESTORE_TARGET_ACTION !== "pause";
}

/**
 * A restored server would accept TCP clients read-only while it replays WAL, and a client's
 * first write would fail. So recovery runs with TCP closed (unix socket only), and once the
 * server has promoted it is stopped and started again for everyone: the first TCP client meets a
 * writable primary. Returns the exit status when the server ended during recovery (a target
 * that cannot be reached, say), undefined when it promoted.
 */
async function recoverWithoutTcp(env: Env, serverArgs: string[], childEnv: Record<string, string | undefined>): Promise<number | undefined> {
  log("recovery", "replaying WAL with TCP closed (unix socket only) until the server is writable");
  const recovering = runServer(env, [...serverArgs, "-c", "listen_addresses="], childEnv);
  const controller = new AbortController();
  const ended = recovering.exited.then((status) => ({ status }));
  // isReady reads postmaster.pid ("starting", then "standby" with hot standby, until the promotion;
  // then "ready"): polled often, psql runs only once it says ready (bench row P2, restore to ready).
  const promoted = waitFor(async () => (await isReady(env)) && !(await inRecovery(env)), 50, controller.signal).then(() => ({ status: undefined }));
  const first = await Promise.race([ended, promoted]);
  controller.abort();
  if (first.status !== undefined) {
    log("recovery", `PostgreSQL exited during recovery with status ${first.status}`);
    return first.status;
  }
  recovering.stop();
  await recovering.exited;
  log("recovery", "promoted; starting the server for TCP clients");
  return undefined;
}

/**
 * Once the server accepts connections: the replication role on a primary, the ready marker, then
 * the backup services; a standby waits for its promotion first. Retried by the supervisor when a
 * query fails (the server was restarting, say).
 */
function readinessService(env: Env, supervisor: Supervisor, standby: boolean): Service {
  // Outside run(): a retried readiness check does not start the TLS server twice.
  let serving = false;
  return {
    name: "readiness",
    async run(signal) {
      // Polled often (a file read): the health check waits for the marker below (bench row P5, restart to ready).
      if (!(await waitFor(() => isReady(env), 50, signal))) return;
      const server = await describeServer(env);
      if (!standby && !server.inRecovery) {
        await ensureReplicationRole(env).then(
          (m) => log("replication-role", m),
          (e: Error) => logError("replication-role", e.message),
        );
      }
      markReady(server.description);
      log("server", server.description);
      releaseStartupGarbage();
      // A standby serves its files to the primary's backups (a primary that becomes a standby does so through a restart).
      if (standby && backupsEnabled(env) && env.BACKUP_FROM_STANDBY !== "off" && !serving) {
        serving = true;
        void supervisor.start(standbyServerService(env));
      }
      if (standby) {
        log(
          "replica",
          `standby of ${env.PRIMARY_HOST}:${env.PRIMARY_PORT} through slot ${upstreamOf(env).slot}: no backups and no schedule until \`postgres-ba promote\``,
        );
        void supervisor.start(promotionWatchService(env, supervisor));
        return;
      }
      startBackupServices(env, supervisor, false);
    },
  };
}

/** A standby: nothing until it is promoted (postgres-ba promote), then a primary's services. */
function promotionWatchService(env: Env, supervisor: Supervisor): Service {
  return {
    name: "promotion-watch",
    async run(signal) {
      if (!(await waitFor(async () => !(await inRecovery(env)), 1000, signal))) return;
      log("replica", "promoted: this server is now a writable primary");
      // Its own failures are recorded and logged; this catches a server gone mid-way.
      await completePromotion(env).catch((e: Error) => logError("promote", e.message));
      markReady((await describeServer(env)).description);
      startBackupServices(env, supervisor, true);
    },
  };
}

function wantsHelp(args: string[]): boolean {
  return args.some((a) => ["-?", "--help", "--describe-config", "-V", "--version"].includes(a));
}

/** Anything other than the server (e.g. `docker run image bash`) runs as asked, like `exec "$@"`. */
async function execOther(args: string[]): Promise<number> {
  const r = await run(args[0], args.slice(1), { stream: true, timeoutMs: 0 }).catch((e: NodeJS.ErrnoException) => {
    logError("entrypoint", `${args[0]}: ${e.code === "ENOENT" ? "command not found" : e.message}`);
    return { code: 127 };
  });
  return r.code;
}
