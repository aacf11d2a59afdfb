/**
 * The backup schedule: one cron job per backup type, never two backups at once. Ticks that
 * coincide (Sunday 03:00 is both "full" and an incr slot) are merged into the largest type;
 * a tick that finds a backup running is skipped with a log line.
 */
import { Cron } from "croner";
import type { Env } from "../env/table.js";
import type { BackupType } from "./pgbackrest.js";

const rank: Record<BackupType, number> = { incr: 0, diff: 1, full: 2 };
/** Ticks closer together than this are one tick. */
const mergeWindowMs = 500;

export interface ScheduledJob {
  type: BackupType;
  expression: string;
}

/** The enabled jobs, in a fixed order (pure: used by the log line and `status`). */
export function scheduledJobs(env: Pick<Env, "BACKUP_SCHEDULE_FULL" | "BACKUP_SCHEDULE_DIFF" | "BACKUP_SCHEDULE_INCR">): ScheduledJob[] {
  const jobs: Array<[BackupType, string | null]> = [
    ["full", env.BACKUP_SCHEDULE_FULL],
    ["diff", env.BACKUP_SCHEDULE_DIFF],
    ["incr", env.BACKUP_SCHEDULE_INCR],
  ];
  return jobs.filter((j): j is [BackupType, string] => j[1] !== null).map(([type, expression]) => ({ type, expression }));
}

export function nextRun(expression: string, from: Date): Date | null {
  return new Cron(expression, { paused: true }).nextRun(from);
}

export class BackupScheduler {
  private readonly crons: Cron[] = [];
  private pending: BackupType | undefined;
  private running: BackupType | undefined;

  constructor(
    private readonly jobs: ScheduledJob[],
    private readonly backup: (type: BackupType) => Promise<void>,
    private readonly log: (message: string) => void,
  ) {}

  start(): void {
    for (const job of this.jobs) this.crons.push(new Cron(job.expression, () => this.request(job.type)));
  }

  stop(): void {
    for (const c of this.crons) c.stop();
  }

  describe(now = new Date()): string {
    if (this.jobs.length === 0) return "no backup type scheduled (all BACKUP_SCHEDULE_* are off)";
    return this.jobs.map((j) => `${j.type} "${j.expression}" next ${nextRun(j.expression, now)?.toISOString() ?? "never"}`).join("; ");
  }

  /** A tick of `type`'s schedule (public so the merging rules can be tested without a clock). */
  request(type: BackupType): void {
    if (this.running) {
      this.log(`${type} tick skipped: a ${this.running} backup is still running`);
      return;
    }
    const first = this.pending === undefined;
    if (first || rank[type] > rank[this.pending!]) this.pending = type;
    if (first) setTimeout(() => void this.runPending(), mergeWindowMs);
  }

  private async runPending(): Promise<void> {
    const type = this.pending!;
    this.pending = undefined;
    this.running = type;
    try {
      await this.backup(type);
    } catch (e) {
      this.log(`scheduled ${type} backup failed, the next tick tries again: ${(e as Error).message}`);
    } finally {
      this.running = undefined;
    }
  }
}
