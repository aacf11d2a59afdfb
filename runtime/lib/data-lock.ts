/**
 * One data directory, one server. PostgreSQL's own postmaster.pid cannot tell a live server in
 * another container (another PID namespace) from a stale file, so the runtime holds a kernel lock
 * (flock) on a file beside PGDATA for its whole life: containers on one host share the kernel,
 * so a second container on the same volume sees the lock and stops before touching anything.
 * The lock is held by a small `flock ... cat` child whose stdin is a pipe from this process: when
 * the runtime ends, however it ends, the pipe closes, cat exits and the kernel drops the lock.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { basename, join } from "node:path";
import { runtimeDir } from "./state.js";
import { DataLockError } from "../errors.js";

export function dataLockPath(pgdata: string): string {
  return join(runtimeDir(pgdata), `${basename(pgdata)}.lock`);
}

/** The lock holders of this process, referenced so nothing ever collects their pipes. */
const holders: ChildProcess[] = [];

/** Resolves once the lock is held; rejects with DataLockError when another process holds it. */
export async function lockDataDirectory(pgdata: string): Promise<string> {
  const path = dataLockPath(pgdata);
  try {
    mkdirSync(runtimeDir(pgdata), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, "a", 0o600));
  } catch (e) {
    throw new DataLockError(`cannot create the lock file ${path}: ${(e as Error).message}`);
  }
  const child = spawn("flock", ["-n", path, "sh", "-c", "echo locked; exec cat"], { stdio: ["pipe", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    child.on("error", (e) => reject(new DataLockError(`flock could not run: ${e.message}`)));
    child.on("exit", (code) =>
      reject(new DataLockError(code === 1 && !stderr ? `${path} is locked by another container or process` : `flock exited ${code}: ${stderr.trim()}`)),
    );
    child.stdout.once("data", () => {
      // Held: the child lives on, detached from Node's event loop, until this process ends.
      child.removeAllListeners("exit");
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      (child.stdin as unknown as { unref(): void }).unref();
      holders.push(child);
      resolve(path);
    });
  });
}
