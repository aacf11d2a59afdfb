/**
 * Alerts: a JSON POST to BACKUP_WEBHOOK_URL when a backup starts, succeeds or fails and when WAL
 * archiving starts failing or recovers; a GET to BACKUP_PING_URL after every successful backup
 * (a dead man's switch). Delivery never delays or fails a backup: it runs beside it, with a
 * timeout and retries, and a delivery that gives up is one log line. The URLs are never logged
 * (they often hold a token), not even in an error: only the event and the HTTP status or error
 * code are.
 */
import type { Env } from "../env/table.js";
import { logBackup } from "./log.js";
import { sleep } from "./supervisor.js";

export type BackupNotice =
  | { event: "backup.started"; backupType: string; repository: number }
  | { event: "backup.succeeded"; backupType: string; repository: number; label: string; seconds: number }
  | { event: "backup.failed"; backupType: string; repository: number; error: string }
  | { event: "archiving.failing"; lastFailedWal?: string; waitingSegments: number }
  | { event: "archiving.recovered"; lastArchivedWal?: string };

/** What a receiver gets: the event, where it happened, when, and its details. */
export function noticeBody(env: Pick<Env, "PGBACKREST_STANZA" | "SERVER_NAME">, notice: BackupNotice, at: Date): string {
  return JSON.stringify({ ...notice, stanza: env.PGBACKREST_STANZA, server: env.SERVER_NAME, at: at.toISOString() });
}

/** The notice a change of archiving's state calls for (none at first unless already failing). */
export function archivingNotice(
  wasFailing: boolean | undefined,
  now: { failing: boolean; lastFailedWal?: string; lastArchivedWal?: string; waitingSegments: number },
): BackupNotice | undefined {
  if (now.failing && wasFailing !== true) return { event: "archiving.failing", lastFailedWal: now.lastFailedWal, waitingSegments: now.waitingSegments };
  if (!now.failing && wasFailing === true) return { event: "archiving.recovered", lastArchivedWal: now.lastArchivedWal };
  return undefined;
}

/** Attempts per delivery, the wait before each retry, and each attempt's timeout. */
export const deliveryPolicy = { attempts: 3, retryDelaysMs: [1000, 4000], timeoutMs: 10_000 };

/** Deliveries under way, each with what it delivers and how far it got (for the line when a command exits before it ends). */
const pending = new Map<Promise<void>, DeliveryProgress>();

interface DeliveryProgress {
  what: string;
  attempts: number;
  problem: string;
}

/** Sends the notice to the webhook (when set), in the background. */
export function notify(env: Env, notice: BackupNotice): void {
  const url = env.BACKUP_WEBHOOK_URL;
  if (url) {
    track(notice.event, (progress) =>
      deliver(url, progress, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: noticeBody(env, notice, new Date()),
      }),
    );
  }
}

/** The dead man's switch (BACKUP_PING_URL, when set): after a backup that every repository has. */
export function pingAfterBackup(env: Env): void {
  const url = env.BACKUP_PING_URL;
  if (url) track("ping", (progress) => deliver(url, progress, { method: "GET" }));
}

/**
 * Waits for deliveries still under way, at most `limitMs` (a `postgres-ba backup` process before
 * it exits: a receiver that is down must not hold the command for its whole retry cycle; the
 * entrypoint at stop, not at all). Each one still under way then is one log line, as one that gave
 * up is: the process is about to end it.
 */
export async function deliveriesSettled(limitMs: number): Promise<void> {
  const settled = new AbortController();
  await Promise.race([Promise.all([...pending.keys()]), sleep(limitMs, settled.signal)]);
  settled.abort();
  for (const { what, attempts, problem } of pending.values()) {
    const sofar = problem ? `${attempts} failed attempt(s), the last: ${problem}` : "no answer yet";
    logBackup(topicOf(what), `${what} not delivered: cut short when the process exited (${sofar})`, true);
  }
}

function track(what: string, start: (progress: DeliveryProgress) => Promise<void>): void {
  const progress: DeliveryProgress = { what, attempts: 0, problem: "" };
  const delivery = start(progress);
  pending.set(delivery, progress);
  void delivery.finally(() => pending.delete(delivery));
}

async function deliver(url: string, progress: DeliveryProgress, init: RequestInit): Promise<void> {
  for (let attempt = 1; attempt <= deliveryPolicy.attempts; attempt++) {
    try {
      const response = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(deliveryPolicy.timeoutMs) });
      await response.body?.cancel();
      if (response.ok) return;
      progress.problem = `HTTP ${response.status}`;
    } catch (e) {
      progress.problem = errorCode(e);
    }
    progress.attempts = attempt;
    const delay = deliveryPolicy.retryDelaysMs[attempt - 1];
    if (delay !== undefined && attempt < deliveryPolicy.attempts) await sleep(delay);
  }
  logBackup(topicOf(progress.what), `${progress.what} not delivered after ${deliveryPolicy.attempts} attempts (${progress.problem})`, true);
}

const topicOf = (what: string) => (what === "ping" ? "ping" : "webhook");

/** The error's code or name, never its message: fetch's messages can quote the URL. */
function errorCode(e: unknown): string {
  const cause = (e as { cause?: { code?: string } }).cause;
  if (cause?.code) return cause.code;
  return e instanceof Error ? e.name : "error";
}
