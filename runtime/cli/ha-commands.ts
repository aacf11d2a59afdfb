/**
 * Commands Patroni runs in an HA_MODE=patroni member (named in patroni.yml), as postgres, with
 * Patroni's environment: each reads the container's settings as the entrypoint saw them.
 * - ha-bootstrap: the official image's initialization of the cluster's first data directory,
 *   refused when the stanza already holds another cluster's backups (a wrong HA_SCOPE would
 *   otherwise start a second cluster on the same stanza); with RESTORE_FROM_BACKUP, a restore of
 *   the stanza's backup instead (RESTORE_TARGET_* as outside HA);
 * - ha-create-replica: a new member from the repository's latest backup (pgBackRest's delta
 *   restore), set to follow the leader's timeline even right after a promotion (lib/replication.ts
 *   timelineToFollow); when it cannot, Patroni's next method copies the leader;
 * - ha-pre-promote: the repository's split-brain guard as Patroni's fence before a promotion: it
 *   blocks only on positive evidence (WAL of a newer timeline of this cluster in the stanza),
 *   never because the repository cannot be read.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { hasDatabase, restoreRequest } from "../datadir/state.js";
import { type BackupEnv, backupsEnabled, parseEnv, repositoryWritable } from "../env/parse.js";
import type { Env } from "../env/table.js";
import { controlData } from "../lib/control-data.js";
import { exitCodes } from "../lib/exit-codes.js";
import { log, logError } from "../lib/log.js";
import { patroniCluster } from "../lib/patroni.js";
import { failureReason, pgbackrest } from "../lib/pgbackrest.js";
import { slotName, type TimelineToFollow, timelineToFollow, type Upstream, writeTimelineHistory } from "../lib/replication.js";
import { latestBackup, newestArchivedTimeline, readStanza, type StoredBackup } from "../lib/repository.js";
import { emptyDirectory, readJsonIfExists, restoreMarkerPath, writeJsonAtomic } from "../lib/state.js";
import { tlsPaths } from "../lib/tls-paths.js";
import { postgresAccount } from "../lib/user.js";
import { entrypointEnvPath } from "../render/patroni-conf.js";
import { initDatabase } from "../steps/init-database.js";
import { restoreFromBackup } from "../steps/restore-from-backup.js";
import { type Context, runStep } from "../steps/step.js";
import { verifyMinimumEnv } from "../steps/verify-minimum-env.js";
import { FatalError, RepositoryError, UpstreamError } from "../errors.js";
import type { Command } from "./commands.js";

/**
 * The container's settings as the entrypoint read them. Patroni's own environment holds
 * pgBackRest's options as the runtime sets them for its children (PGBACKREST_PG1_USER, the
 * keys), which the image refuses from a user: this process takes the container's environment
 * back before it reads settings or runs pgBackRest.
 */
function containerEnv(): Env {
  const saved = readJsonIfExists<NodeJS.ProcessEnv>(entrypointEnvPath);
  if (saved) {
    for (const name of Object.keys(process.env)) delete process.env[name];
    Object.assign(process.env, saved);
  }
  return parseEnv(process.env);
}

export const haCommands: Record<string, Command> = {
  "ha-bootstrap": {
    usage: "ha-bootstrap",
    summary:
      "Run by Patroni (HA_MODE=patroni) on the member that initializes the cluster: the official image's initialization of an empty PGDATA, or with RESTORE_FROM_BACKUP a restore.",
    async run() {
      const env = containerEnv();
      const ctx: Context = { env, serverArgs: [], account: postgresAccount(), hasDatabase: () => hasDatabase(env.PGDATA) };
      if (ctx.hasDatabase())
        throw new FatalError(`PGDATA ${env.PGDATA} already holds a database; Patroni bootstraps only an empty one`, exitCodes.dataDirectory);
      if (env.RESTORE_FROM_BACKUP) {
        // A new cluster from the stanza's backups (its own cluster's, by request): Patroni starts
        // the restored server, which replays to the target and promotes onto a new timeline.
        ctx.path = { kind: "restore", how: "new", request: restoreRequest(env) };
        await runStep(restoreFromBackup, ctx);
        // Unfinished until the restored server has promoted and leads (ha-member.ts clears it): a
        // recovery that fails (a target past the archive) is not restored from S3 at every restart.
        writeJsonAtomic(restoreMarkerPath(env.PGDATA), { recoveringSince: new Date().toISOString() });
        return 0;
      }
      if (repositoryWritable(env)) {
        const stanza = await readStanza(env, { ioTimeoutSeconds: 10 }).catch((e: unknown) => {
          if (e instanceof RepositoryError) return undefined;
          throw e;
        });
        if (stanza?.systemIds.length) {
          throw new FatalError(
            `stanza ${env.PGBACKREST_STANZA} already holds the backups of a cluster (system ${stanza.systemIds.join(", ")}): bootstrapping here would start a second cluster writing to it. ` +
              `Fix: give this member the HA_SCOPE of the cluster it belongs to (now ${env.HA_SCOPE}), or another PGBACKREST_STANZA for a new cluster`,
            exitCodes.dataDirectory,
          );
        }
      }
      for (const step of [verifyMinimumEnv, initDatabase]) await runStep(step, ctx);
      return 0;
    },
  },
  "ha-create-replica": {
    usage: "ha-create-replica",
    summary:
      "Run by Patroni (HA_MODE=patroni) to create a replica: restores the repository's latest backup, set to follow the leader's timeline (or exits 1 for Patroni's next method).",
    async run() {
      const env = containerEnv();
      if (!backupsEnabled(env)) throw new FatalError("ha-create-replica without a stanza: Patroni's configuration names it only with backups", exitCodes.usage);
      // Run by hand on a member with a server: nothing here is to be replaced.
      if (existsSync(join(env.PGDATA, "postmaster.pid")))
        throw new FatalError(
          `a server runs on PGDATA ${env.PGDATA}: ha-create-replica is Patroni's, run when it creates a member's data; nothing was touched`,
          exitCodes.usage,
        );
      // Once the restore has begun, whatever stops this method leaves PGDATA empty for
      // Patroni's next one (pg_basebackup from the leader), never a copy that could start.
      const progress = { restoring: false, created: false };
      try {
        const outcome = await restoreFollowingLeader(env, progress);
        if (!outcome.ok) {
          logError("ha-create-replica", `${outcome.line}${progress.restoring ? "; PGDATA emptied" : ""}; Patroni tries its next method`);
          return 1;
        }
        progress.created = true;
        log("ha-create-replica", outcome.line);
        return 0;
      } finally {
        if (progress.restoring && !progress.created) emptyDirectory(env.PGDATA);
      }
    },
  },
  "ha-pre-promote": {
    usage: "ha-pre-promote",
    summary: "Run by Patroni (HA_MODE=patroni) before it promotes this member: refuses when the stanza holds WAL of a newer timeline of this cluster.",
    async run() {
      const env = containerEnv();
      if (!repositoryWritable(env)) return 0;
      const ours = await controlData(env.PGDATA);
      const timeline = followedTimeline(env.PGDATA, ours.timeline);
      let newest: number | undefined;
      try {
        newest = newestArchivedTimeline((await readStanza(env, { ioTimeoutSeconds: 10 })).archives, ours.systemId);
      } catch (e) {
        if (!(e instanceof RepositoryError)) throw e;
        log("ha-pre-promote", `WARNING: repository not readable (${e.message}); promoting without comparing timelines`);
        return 0;
      }
      if (newest !== undefined && newest > timeline) {
        logError(
          "ha-pre-promote",
          `stanza ${env.PGBACKREST_STANZA} holds WAL of timeline ${newest} of this cluster, newer than this member's ${timeline}: another server was promoted; not promoting this one`,
        );
        return exitCodes.dataDirectory;
      }
      log("ha-pre-promote", `promoting from timeline ${timeline}; the repository's newest timeline for this cluster is ${newest ?? "none yet"}`);
      return 0;
    },
  },
};

/**
 * The repository's latest backup, restored and set to follow the leader's timeline; or why not.
 * Everything that can wait or fail runs before the restore (lib/replication.ts timelineToFollow).
 */
async function restoreFollowingLeader(env: BackupEnv, progress: { restoring: boolean }): Promise<{ ok: boolean; line: string }> {
  let latest: StoredBackup | undefined;
  try {
    latest = latestBackup((await readStanza(env)).backups);
  } catch (e) {
    if (!(e instanceof RepositoryError)) throw e;
    return { ok: false, line: `the repository cannot be read: ${e.message}` };
  }
  if (!latest) return { ok: false, line: "the repository holds no backup yet" };
  const leader = (await patroniCluster(env)).find((m) => m.role === "leader" && m.host);
  if (!leader?.host) return { ok: false, line: "the cluster has no leader to follow now" };
  const up: Upstream = {
    host: leader.host,
    port: leader.port ?? env.POSTGRES_PORT,
    user: env.REPLICATION_USER,
    password: env.REPLICATION_PASSWORD ?? "",
    sslmode: "verify-ca",
    caFile: tlsPaths(env).caCert,
    slot: slotName(env.SERVER_NAME),
  };
  let follow: TimelineToFollow;
  try {
    follow = await timelineToFollow(env, up, latest);
  } catch (e) {
    if (!(e instanceof UpstreamError)) throw e;
    return { ok: false, line: `a copy of ${latest.label} could not follow ${leader.name} (${e.message})` };
  }
  progress.restoring = true;
  const restored = await pgbackrest(env, ["--delta", "restore", `--set=${latest.label}`], { timeoutMs: 0 });
  if (restored.code !== 0) return { ok: false, line: `restore of ${latest.label} from the repository failed: ${failureReason(restored)}` };
  writeTimelineHistory(env.PGDATA, follow);
  return { ok: true, line: `restored ${latest.label}; following ${leader.name} on timeline ${follow.timeline}` };
}

/**
 * The newest timeline a standby has followed: pg_control names only the one of its last
 * restartpoint, but following a switch (streamed or restored) leaves that timeline's history
 * file in pg_wal. (A switchover's fence runs with the stream already closed, so the stream's
 * own timeline cannot be asked.)
 */
export function followedTimeline(pgdata: string, controlTimeline: number): number {
  const histories = readdirSync(join(pgdata, "pg_wal"))
    .filter((f) => /^[0-9A-F]{8}\.history$/.test(f))
    .map((f) => parseInt(f.slice(0, 8), 16));
  return Math.max(controlTimeline, ...histories);
}
