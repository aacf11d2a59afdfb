/**
 * What makes a promoted standby a primary for good, done once per new timeline by the running
 * container (whoever called pg_promote: `postgres-ba promote`, a person, a tool):
 * CHECKPOINT (pg_control then names the new timeline, which pgBackRest compares with the WAL),
 * the replication role, then `pgbackrest check` (the stanza accepts the new timeline and its WAL
 * is archived) and a full backup, or the stanza's bootstrap if the cluster never had one.
 * The outcome is recorded beside PGDATA, where `postgres-ba promote` waits for it.
 */
import { join } from "node:path";
import { repositoryWritable, repositoryWritesOff } from "../env/parse.js";
import type { Env } from "../env/table.js";
import { initBackups, takeBackup } from "./backups.js";
import { logBackup } from "./log.js";
import { failureReason, pgbackrest } from "./pgbackrest.js";
import { psql } from "./postgres.js";
import { ensureReplicationRole } from "./replication.js";
import { backupState, readJsonIfExists, runtimeDir, writeJsonAtomic } from "./state.js";

export interface PromotionRecord {
  timeline: number;
  at: string;
  ok: boolean;
  detail: string;
}

function recordPath(pgdata: string): string {
  return join(runtimeDir(pgdata), "promotion.json");
}

export function readPromotion(pgdata: string): PromotionRecord | undefined {
  return readJsonIfExists<PromotionRecord>(recordPath(pgdata));
}

/** A promotion whose check or backup failed, completed since by a full backup (bootstrap-backups retries it). */
export function recordPromotionBackup(pgdata: string, record: PromotionRecord, label: string): void {
  writeJsonAtomic(recordPath(pgdata), { ...record, ok: true, detail: `${record.detail}; full backup ${label} taken since` });
}

/** The timeline the server writes WAL on now (pg_control's lags until the next checkpoint). */
export async function currentTimeline(env: Env): Promise<number> {
  return parseInt((await psql(env, "SELECT pg_walfile_name(pg_current_wal_lsn());")).slice(0, 8), 16);
}

export async function completePromotion(env: Env): Promise<PromotionRecord> {
  let timeline = 0;
  const done: string[] = [];
  let ok = true;
  try {
    timeline = await currentTimeline(env);
    await psql(env, "CHECKPOINT;");
    done.push(await ensureReplicationRole(env));
    if (!repositoryWritable(env)) {
      done.push(`no backups: ${repositoryWritesOff(env)}`);
    } else {
      const state = backupState(env.PGDATA, env.PGBACKREST_STANZA);
      if (state === "adopted") {
        done.push("backups were never initialized for this database: run postgres-ba init-backups");
      } else if (state === "pending") {
        await initBackups(env);
        done.push(`stanza ${env.PGBACKREST_STANZA} created and first full backup taken`);
      } else {
        const check = await pgbackrest(env, ["check"]);
        const checkFailed = check.code === 0 ? undefined : `pgbackrest check on timeline ${timeline} failed: ${failureReason(check)}`;
        // With two repositories one that is down fails the check; the other still gets its backup (takeBackup names the one that failed).
        if (checkFailed && !env.secondRepository) throw new Error(checkFailed);
        const label = await takeBackup(env, "full");
        done.push(
          checkFailed
            ? `${checkFailed}; full backup ${label} taken in every repository`
            : `stanza ${env.PGBACKREST_STANZA} accepts timeline ${timeline} (pgbackrest check archived its WAL), full backup ${label} taken`,
        );
      }
    }
  } catch (e) {
    ok = false;
    done.push(`FAILED: ${(e as Error).message}; the full backup is retried until it is taken`);
  }
  const record: PromotionRecord = { timeline, at: new Date().toISOString(), ok, detail: `promoted to a primary on timeline ${timeline}: ${done.join("; ")}` };
  writeJsonAtomic(recordPath(env.PGDATA), record);
  logBackup("promote", record.detail, !ok);
  return record;
}
