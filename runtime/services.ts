/**
 * What runs beside a primary once PostgreSQL serves: the first backup, the schedule, restore
 * drills, metrics and alerts, each a named service under the supervisor it is given. The
 * entrypoint starts them on a primary or after a promotion; with HA_MODE=patroni the member that
 * holds the leader lock starts them and stops them when it loses it.
 */
import { Cron } from "croner";
import { repositoryWritable, repositoryWritesOff, type BackupEnv } from "./env/parse.js";
import type { Env } from "./env/table.js";
import { initBackups, initNewRepositories, takeBackup, takeMissingTimelineFull } from "./lib/backups.js";
import { log, logBackup } from "./lib/log.js";
import { serveMetrics } from "./lib/metrics.js";
import { archivingNotice, notify } from "./lib/notify.js";
import { psql } from "./lib/postgres.js";
import { currentTimeline, readPromotion, recordPromotionBackup } from "./lib/promotion.js";
import { restoreDrill } from "./lib/restore-drill.js";
import { BackupScheduler, scheduledJobs } from "./lib/scheduler.js";
import { backupState } from "./lib/state.js";
import { gatherArchiving } from "./lib/status.js";
import { type Service, type Supervisor, sleep } from "./lib/supervisor.js";
import { walAheadService } from "./lib/wal-ahead.js";

/** First backup, schedule, restore drill and metrics, each a service of its own. */
export function startBackupServices(env: Env, supervisor: Supervisor, promoted: boolean): void {
  if (!repositoryWritable(env)) {
    log("bootstrap-backups", `skipped: ${repositoryWritesOff(env)}`);
    return;
  }
  const scheduler = new BackupScheduler(
    scheduledJobs(env),
    (type) => scheduledBackup(env, type),
    (m) => logBackup("schedule", m),
  );
  // Metrics and alerts do not wait for the first backup: a first backup that keeps failing shows.
  if (env.METRICS_PORT) void supervisor.start(metricsService(env, env.METRICS_PORT));
  if (env.BACKUP_WEBHOOK_URL) void supervisor.start(archiveWatchService(env));
  // Two repositories: one that fails must not starve the other of WAL (wal-ahead.ts).
  if (env.secondRepository) void supervisor.start(walAheadService(env));
  void supervisor.start({
    name: "bootstrap-backups",
    async run(signal) {
      // After a promotion completePromotion did the stanza's part; a first backup that failed there
      // (still pending) is retried here like any first backup, and adopted data stays as it is.
      const recorded = backupState(env.PGDATA, env.PGBACKREST_STANZA);
      const state = promoted && recorded === "active" ? "promoted" : recorded;
      // A promotion of this timeline whose check or full backup failed (S3 down at that moment),
      // also when the container was restarted since: its full backup is retried like a first
      // backup, not left to the next schedule.
      const promotion = recorded === "active" ? readPromotion(env.PGDATA) : undefined;
      const timelineNow = promotion?.ok === false ? await currentTimeline(env) : undefined;
      // (Timeline 0: the promotion failed before it could ask.)
      const missedTimeline = timelineNow !== undefined && [0, timelineNow].includes(promotion?.timeline ?? -1) ? timelineNow : undefined;
      if (state === "adopted") {
        log(
          "bootstrap-backups",
          "skipped: this data directory was not created by this image; to start backups run: docker exec <container> postgres-ba init-backups",
        );
      } else if (state === "active") {
        log("bootstrap-backups", `skipped: stanza ${env.PGBACKREST_STANZA} is active and its first full backup exists`);
      } else if (state === "pending") {
        // A failure (S3 down at first start, say) rejects: the supervisor logs it and tries
        // again after 2 s, 4 s, ... at most 5 min, so the first backup follows S3's return.
        await initBackups(env);
        logBackup("bootstrap-backups", `stanza ${env.PGBACKREST_STANZA} created and first full backup taken`);
      }
      if (promotion && missedTimeline !== undefined) {
        const labels = await takeMissingTimelineFull(env, missedTimeline);
        recordPromotionBackup(env.PGDATA, promotion, labels.join(", ") || "(every repository had one)");
        logBackup("bootstrap-backups", `full backup ${labels.join(", ")} taken on timeline ${missedTimeline}, the one the promotion could not take`);
      }
      if (signal.aborted) return;
      // Two repositories: one added since, or one that missed the first backup or a promotion, is
      // brought along beside the schedule, retried on its own while it fails.
      if (state !== "adopted" && env.secondRepository) void supervisor.start(newRepositoryService(env));
      void supervisor.start(scheduleService(scheduler));
      if (env.RESTORE_DRILL_SCHEDULE) void supervisor.start(restoreDrillService(env, env.RESTORE_DRILL_SCHEDULE));
    },
  });
}

function newRepositoryService(env: BackupEnv): Service {
  return {
    name: "new-repository",
    async run() {
      const added = await initNewRepositories(env);
      if (added.length)
        logBackup(
          "new-repository",
          `stanza ${env.PGBACKREST_STANZA} created and first full backup taken in ${added.map((r) => `repository ${r.index}`).join(", ")}`,
        );
    },
  };
}

function metricsService(env: BackupEnv, port: number): Service {
  return {
    name: "metrics",
    run(signal) {
      const serving = serveMetrics(env, port, env.METRICS_ADDRESS, signal);
      log("metrics", `serving Prometheus metrics on ${env.METRICS_ADDRESS}:${port}/metrics`);
      return serving;
    },
  };
}

/** How often the archive watch reads pg_stat_archiver for the webhook. */
const archiveWatchIntervalMs = 10_000;

/** Tells the webhook when WAL archiving starts failing and when it recovers. */
function archiveWatchService(env: BackupEnv): Service {
  // Outside run(): a query that fails restarts the service, which must remember what it last told.
  let failing: boolean | undefined;
  return {
    name: "archive-watch",
    async run(signal) {
      while (!signal.aborted) {
        const archiving = await gatherArchiving(env);
        const notice = archivingNotice(failing, archiving);
        if (notice) notify(env, notice);
        failing = archiving.failing;
        await sleep(archiveWatchIntervalMs, signal);
      }
    },
  };
}

function scheduleService(scheduler: BackupScheduler): Service {
  return {
    name: "schedule",
    async run(signal) {
      scheduler.start();
      logBackup("schedule", `started: ${scheduler.describe()}`);
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      scheduler.stop();
    },
  };
}

function restoreDrillService(env: BackupEnv, schedule: string): Service {
  return {
    name: "restore-drill",
    async run(signal) {
      // protect: a drill still running when the next tick comes is not started twice.
      const drills = new Cron(schedule, { protect: true, catch: (e) => logBackup("restore-drill", `failed: ${(e as Error).message}`, true) }, async () => {
        const drill = await restoreDrill(env);
        logBackup("restore-drill", drill.summary, !drill.ok);
      });
      logBackup("restore-drill", `scheduled "${schedule}", next ${drills.nextRun()?.toISOString()}`);
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      drills.stop();
    },
  };
}

/**
 * One line a person can check after a restore (writable or not, and on which timeline), from
 * one query. A server that does not answer counts as in recovery, as inRecovery() has it.
 */
export async function describeServer(env: Env): Promise<{ description: string; inRecovery: boolean }> {
  try {
    const [recovery, timeline] = (await psql(env, "SELECT pg_is_in_recovery(), (SELECT timeline_id FROM pg_control_checkpoint());")).split("|");
    return recovery === "t"
      ? { description: `accepting connections, in recovery (read-only), timeline ${timeline}`, inRecovery: true }
      : { description: `accepting connections as a writable primary on timeline ${timeline}`, inRecovery: false };
  } catch (e) {
    return { description: `accepting connections (state unknown: ${(e as Error).message})`, inRecovery: true };
  }
}

/**
 * A tick; nothing for an adopted database. (The schedule starts once the first backup exists,
 * so "pending" is not seen here.)
 */
async function scheduledBackup(env: BackupEnv, type: "full" | "diff" | "incr"): Promise<void> {
  if (backupState(env.PGDATA, env.PGBACKREST_STANZA) === "adopted") {
    logBackup("schedule", `${type} tick skipped: backups are not initialized for this database; run postgres-ba init-backups`);
    return;
  }
  await takeBackup(env, type);
}
