import { appendFileSync } from "node:fs";

/**
 * One log line per event, prefixed so it stands out among PostgreSQL's own lines:
 *   2026-11-25 02:50:00.123 UTC [postgres-ba] configure-postgres: wrote postgres-ba.conf
 */
export function log(topic: string, message: string): void {
  process.stdout.write(line(topic, message, false));
}

/** Always one line, whatever the message holds, so the cause is the line a user greps for. */
export function logError(topic: string, message: string): void {
  process.stderr.write(line(topic, message, true));
}

function line(topic: string, message: string, isError: boolean): string {
  const text = isError ? `ERROR: ${message.trim().replace(/\s*\n\s*/g, " | ")}` : message;
  return `${timestamp()} [postgres-ba] ${topic}: ${text}\n`;
}

function timestamp(): string {
  return new Date().toISOString().replace("T", " ").replace("Z", " UTC");
}

/** The seed documents backup logs in this file; backup lines go there as well as to stdout. */
export const backupLogFile = "/var/log/pgbackrest/backup-cron.log";

/** A backup or schedule line: to the container log and appended to backupLogFile. */
export function logBackup(topic: string, message: string, isError = false): void {
  const text = line(topic, message, isError);
  (isError ? process.stderr : process.stdout).write(text);
  try {
    appendFileSync(backupLogFile, text);
  } catch {
    // Not writable (drop-in mode has no pgBackRest directories): stdout still has the line.
  }
}

/** A supervisor's report (lib/supervisor.ts ServiceReport), as one log line. */
export function logReport(service: string, message: string, isError: boolean): void {
  (isError ? logError : log)(service, message);
}

/**
 * Once PostgreSQL runs: a stray rejection or exception in an optional part is logged, never
 * allowed to end the process that holds the server.
 */
export function logStrayErrors(): void {
  process.on("unhandledRejection", (e) => logError("runtime", `unhandled rejection: ${e instanceof Error ? e.message : String(e)}`));
  process.on("uncaughtException", (e) => logError("runtime", `uncaught exception: ${e.message}`));
}
