/**
 * The container's lifecycle, in order. Reads like a table of contents: every step is a small
 * named function in steps/, logs one line (what it did, or why it skipped) and is idempotent.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { Cron } from "croner";
import { backupsEnabled, parseEnv, type BackupEnv } from "./env/parse.js";
import type { Env } from "./env/table.js";
import { BackupError, initBackups, takeBackup } from "./lib/backups.js";
import { run } from "./lib/exec.js";
import { log, logBackup, logError } from "./lib/log.js";
import { serveMetrics } from "./lib/metrics.js";
import { restoreDrill } from "./lib/restore-drill.js";
import { inRecovery, isReady, psql } from "./lib/postgres.js";
import { clearReady, markReady } from "./lib/readiness.js";
import { BackupScheduler, scheduledJobs } from "./lib/scheduler.js";
import { runServer } from "./lib/server.js";
import { backupState } from "./lib/state.js";
import { becomeAccount, isRoot, postgresAccount } from "./lib/user.js";
import { pgbackrestChildEnv } from "./render/pgbackrest-conf.js";
import { completePromotion } from "./lib/promotion.js";
import { ensureReplicationRole, isStandbyData, upstreamOf } from "./lib/replication.js";
import { checkOldLayout } from "./steps/check-old-layout.js";
import { checkPrimaryRole } from "./steps/check-primary-role.js";
import { clearStaleLock } from "./steps/clear-stale-lock.js";
import { cloneReplica } from "./steps/clone-replica.js";
import { configurePgbackrest } from "./steps/configure-pgbackrest.js";
import { configurePostgres } from "./steps/configure-postgres.js";
import { ensureTls } from "./steps/ensure-tls.js";
import { initDatabase } from "./steps/init-database.js";
import { prepareDirectories } from "./steps/prepare-directories.js";
import { rejoinAsReplica } from "./steps/rejoin-as-replica.js";
import { restoreFromBackup } from "./steps/restore-from-backup.js";
import type { Context, Step } from "./steps/step.js";
import { verifyMinimumEnv } from "./steps/verify-minimum-env.js";

/** Before the privilege drop: checks that touch nothing, then directory ownership. */
const asRoot: Step[] = [checkOldLayout, verifyMinimumEnv, prepareDirectories];
/**
 * As postgres. pgbackrest.conf comes first: a restore needs it. The data directory's role is
 * settled (restored, rejoined, cloned; never a second writable primary) before TLS and init,
 * so a refused start has written nothing.
 */
const asPostgres: Step[] = [configurePgbackrest, clearStaleLock, restoreFromBackup, rejoinAsReplica, cloneReplica, checkPrimaryRole, ensureTls, initDatabase, configurePostgres];

export async function entrypoint(argv: string[]): Promise<number> {
  // `docker run image -c shared_buffers=1GB` means "postgres with these flags", as upstream.
  const args = argv[0]?.startsWith("-") ? ["postgres", ...argv] : argv.length ? argv : ["postgres"];
  if (args[0] !== "postgres" || wantsHelp(args)) return execOther(args);

  const env = parseEnv(process.env);
  const account = postgresAccount();
  const ctx: Context = {
    env,
    serverArgs: args.slice(1),
    account,
    hasDatabase: () => existsSync(join(env.PGDATA, "PG_VERSION")) && statSync(join(env.PGDATA, "PG_VERSION")).size > 0,
  };
  for (const step of asRoot) await runStep(step, ctx);
  if (isRoot()) becomeAccount(account);
  for (const step of asPostgres) await runStep(step, ctx);

  clearReady();
  const expectPromotion = existsSync(join(env.PGDATA, "recovery.signal")) && env.RESTORE_TARGET_ACTION !== "pause";
  const standby = isStandbyData(env.PGDATA);
  const server = runServer(env, ctx.serverArgs, backupsEnabled(env) ? pgbackrestChildEnv(env, process.env) : {});
  const scheduler = backupsEnabled(env) && !env.REPO_READ_ONLY
    ? new BackupScheduler(scheduledJobs(env), (type) => scheduledBackup(env, type), (m) => logBackup("schedule", m))
    : undefined;
  void afterServerStart(env, server.exited, scheduler, expectPromotion, standby);
  const status = await server.exited;
  scheduler?.stop();
  log("entrypoint", `PostgreSQL exited with status ${status}`);
  return status;
}

async function runStep(step: Step, ctx: Context): Promise<void> {
  const result = await step.run(ctx);
  log(step.name, "did" in result ? result.did : `skipped: ${result.skipped}`);
}

/**
 * Once the server accepts connections. A primary: replication role, first backup of a new
 * database, then the schedule. A standby: nothing until it is promoted, then the same.
 */
async function afterServerStart(env: Env, exited: Promise<number>, scheduler: BackupScheduler | undefined, expectPromotion: boolean, standby: boolean): Promise<void> {
  let stopped = false;
  void exited.then(() => (stopped = true));
  // After a restore the server accepts read-only connections while it replays WAL: wait for the
  // promotion (unless a paused recovery was asked for) before reporting and backing up.
  while (!(await isReady(env)) || (expectPromotion && (await inRecovery(env)))) {
    if (stopped) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (!standby && !(await inRecovery(env))) {
    await ensureReplicationRole(env).then((m) => log("replication-role", m), (e: Error) => logError("replication-role", e.message));
  }
  const description = await describeServer(env);
  markReady(description);
  log("server", description);
  if (standby) {
    log("replica", `standby of ${env.PRIMARY_HOST}:${env.PRIMARY_PORT} through slot ${upstreamOf(env).slot}: no backups and no schedule until \`postgres-ba promote\``);
    while (await inRecovery(env)) {
      if (stopped) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
    log("replica", "promoted: this server is now a writable primary");
    // Its own failures are recorded and logged; this catches a server gone mid-way.
    await completePromotion(env).catch((e: Error) => logError("promote", e.message));
    markReady(await describeServer(env));
  }
  if (!backupsEnabled(env) || !scheduler) {
    log("bootstrap-backups", `skipped: ${backupsEnabled(env) ? "REPO_READ_ONLY: the repository is only restored from" : "PGBACKREST_STANZA is not set (drop-in mode)"}`);
    return;
  }
  // After a promotion completePromotion did the stanza's part (a failure there is retried by the schedule).
  const state = standby ? "promoted" : backupState(env.PGDATA, env.PGBACKREST_STANZA);
  if (state === "adopted") {
    log("bootstrap-backups", `skipped: this data directory was not created by this image; to start backups run: docker exec <container> postgres-ba init-backups`);
  } else if (state === "active") {
    log("bootstrap-backups", `skipped: stanza ${env.PGBACKREST_STANZA} is active and its first full backup exists`);
  } else if (state === "pending") {
    await bootstrap(env);
  }
  if (stopped) return;
  if (env.METRICS_PORT) {
    serveMetrics(env, env.METRICS_PORT).unref();
    log("metrics", `serving Prometheus metrics on :${env.METRICS_PORT}/metrics`);
  }
  scheduler.start();
  logBackup("schedule", `started: ${scheduler.describe()}`);
  if (env.RESTORE_DRILL_SCHEDULE) {
    // protect: a drill still running when the next tick comes is not started twice.
    const drills = new Cron(env.RESTORE_DRILL_SCHEDULE, { protect: true }, async () => {
      const drill = await restoreDrill(env);
      logBackup("restore-drill", drill.summary, !drill.ok);
    });
    void exited.then(() => drills.stop());
    logBackup("restore-drill", `scheduled "${env.RESTORE_DRILL_SCHEDULE}", next ${drills.nextRun()?.toISOString()}`);
  }
}

/** One line a person can check after a restore: writable or not, and on which timeline. */
async function describeServer(env: Env): Promise<string> {
  try {
    const [recovery, timeline] = (await psql(env, "SELECT pg_is_in_recovery(), (SELECT timeline_id FROM pg_control_checkpoint());")).split("|");
    return recovery === "t" ? `accepting connections, in recovery (read-only), timeline ${timeline}` : `accepting connections as a writable primary on timeline ${timeline}`;
  } catch (e) {
    return `accepting connections (state unknown: ${(e as Error).message})`;
  }
}

async function bootstrap(env: BackupEnv): Promise<void> {
  try {
    await initBackups(env);
    logBackup("bootstrap-backups", `stanza ${env.PGBACKREST_STANZA} created and first full backup taken`);
  } catch (e) {
    if (!(e instanceof BackupError)) throw e;
    logBackup("bootstrap-backups", `${e.message}; the next scheduled backup or restart tries again`, true);
  }
}

/** A tick: bootstrap first if it has not succeeded yet; nothing for an adopted database. */
async function scheduledBackup(env: BackupEnv, type: "full" | "diff" | "incr"): Promise<void> {
  const state = backupState(env.PGDATA, env.PGBACKREST_STANZA);
  if (state === "adopted") {
    logBackup("schedule", `${type} tick skipped: backups are not initialized for this database; run postgres-ba init-backups`);
    return;
  }
  if (state === "pending") return bootstrap(env);
  await takeBackup(env, type);
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
