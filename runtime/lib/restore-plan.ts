/**
 * Which backup to restore and how (pure): the pgBackRest arguments for RESTORE_* settings, or a
 * refusal when the target cannot be reached (in the future, before the oldest backup, unknown
 * set). pgBackRest would restore the latest backup even when the target precedes it; choosing
 * the newest backup that ended before the target avoids that classic failure.
 */
import { repositoryVariables } from "../env/parse.js";
import type { Env } from "../env/table.js";
import { RestorePlanError } from "../errors.js";

/** The fields of `pgbackrest info --output=json` backups this needs. */
export interface RepoBackup {
  label: string;
  type: string;
  timestamp: { start: number; stop: number };
  lsn?: { start: string; stop: string };
  /** The WAL segments it starts and ends in (their first 8 hex digits are the timeline); null for an offline backup. */
  archive?: { start: string | null; stop: string | null };
}

export interface RestorePlan {
  set: string;
  args: string[];
  /** One line for the log: what is restored and where recovery stops. */
  summary: string;
}

type RestoreEnv = Pick<
  Env,
  | "RESTORE_TARGET_TIME"
  | "RESTORE_TARGET_LSN"
  | "RESTORE_TARGET_XID"
  | "RESTORE_TARGET_NAME"
  | "RESTORE_TARGET_IMMEDIATE"
  | "RESTORE_TARGET_ACTION"
  | "RESTORE_SET"
  | "REPO_TYPE"
>;

/** LSN "X/Y" as a comparable bigint. */
export function lsnValue(lsn: string): bigint {
  const [hi, lo] = lsn.split("/");
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

export function planRestore(env: RestoreEnv, backups: RepoBackup[], now: Date): RestorePlan {
  if (backups.length === 0)
    throw new RestorePlanError("the repository holds no backup to restore", `check ${repositoryVariables(env)} and PGBACKREST_STANZA, or take a backup first`);
  const newest = backups[backups.length - 1];
  const oldest = backups[0];
  let chosen = newest;
  let target: { type: string; value?: string; text: string };

  if (env.RESTORE_TARGET_TIME) {
    const at = new Date(env.RESTORE_TARGET_TIME.replace(" ", "T").replace(/([+-]\d{2})$/, "$1:00"));
    if (Number.isNaN(at.getTime()))
      throw new RestorePlanError(
        `RESTORE_TARGET_TIME=${JSON.stringify(env.RESTORE_TARGET_TIME)} is not a valid time`,
        "use a timestamp with time zone, e.g. 2026-11-25 14:30:00+00",
      );
    if (at > now)
      throw new RestorePlanError(
        `RESTORE_TARGET_TIME=${env.RESTORE_TARGET_TIME} is in the future (now ${now.toISOString()})`,
        "choose a time in the past, or unset it to restore everything archived",
      );
    const before = backups.filter((b) => b.timestamp.stop * 1000 <= at.getTime());
    if (before.length === 0) {
      throw new RestorePlanError(
        `RESTORE_TARGET_TIME=${env.RESTORE_TARGET_TIME} is before the oldest backup ${oldest.label}, which ended at ${iso(oldest.timestamp.stop)}`,
        "choose a later time: WAL before the oldest backup is not kept",
      );
    }
    chosen = before[before.length - 1];
    target = { type: "time", value: env.RESTORE_TARGET_TIME, text: `time ${env.RESTORE_TARGET_TIME}` };
  } else if (env.RESTORE_TARGET_LSN) {
    const at = lsnValue(env.RESTORE_TARGET_LSN);
    const before = backups.filter((b) => b.lsn && lsnValue(b.lsn.stop) <= at);
    if (before.length === 0) {
      throw new RestorePlanError(
        `RESTORE_TARGET_LSN=${env.RESTORE_TARGET_LSN} is before the end of the oldest backup ${oldest.label}${oldest.lsn ? ` (${oldest.lsn.stop})` : ""}`,
        "choose a later LSN",
      );
    }
    chosen = before[before.length - 1];
    target = { type: "lsn", value: env.RESTORE_TARGET_LSN, text: `LSN ${env.RESTORE_TARGET_LSN}` };
  } else if (env.RESTORE_TARGET_XID) {
    target = { type: "xid", value: env.RESTORE_TARGET_XID, text: `transaction ${env.RESTORE_TARGET_XID}` };
  } else if (env.RESTORE_TARGET_NAME) {
    target = { type: "name", value: env.RESTORE_TARGET_NAME, text: `restore point "${env.RESTORE_TARGET_NAME}"` };
  } else if (env.RESTORE_TARGET_IMMEDIATE) {
    target = { type: "immediate", text: "the end of the backup (immediate)" };
  } else {
    target = { type: "default", text: "the end of the archived WAL" };
  }

  if (env.RESTORE_SET) {
    const named = backups.find((b) => b.label === env.RESTORE_SET);
    if (!named) throw new RestorePlanError(`RESTORE_SET=${env.RESTORE_SET} is not in the repository`, `use one of ${backups.map((b) => b.label).join(", ")}`);
    chosen = named;
  }

  const args = ["restore", `--set=${chosen.label}`, `--type=${target.type}`];
  if (target.value !== undefined) args.push(`--target=${target.value}`);
  if (target.type !== "default") args.push(`--target-action=${env.RESTORE_TARGET_ACTION}`);
  const action = target.type === "default" ? "promote" : env.RESTORE_TARGET_ACTION;
  return {
    set: chosen.label,
    args,
    summary: `backup ${chosen.label} (${chosen.type}, ended ${iso(chosen.timestamp.stop)}), recovery to ${target.text}, then ${action}`,
  };
}
