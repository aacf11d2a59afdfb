/**
 * The one way the runtime runs a program: spawned directly, never through a shell (arguments
 * are passed as given, never a string we build), the environment is explicit, every call has a
 * timeout, and output is captured unless asked to stream into the container log. Node's own
 * child_process rather than a shell library: every `postgres-ba` command (a monitoring probe
 * running `status` every few seconds, say) pays for loading the bundle, and zx was half of it.
 */
import { spawn } from "node:child_process";
import { ExecError } from "../errors.js";

export interface ExecOptions {
  /** Added to the runtime's own environment; undefined removes a variable. */
  env?: Record<string, string | undefined>;
  input?: string;
  /** Default 10 minutes; 0 for none. */
  timeoutMs?: number;
  /** Stream output to the container log instead of capturing it. */
  stream?: boolean;
  cwd?: string;
  /** Ends the program (SIGTERM) when aborted: a long-running child of a supervised service. */
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function lastLines(text: string, n = 3): string {
  return text.trim().split("\n").slice(-n).join(" | ");
}

/**
 * Runs a program and resolves with its result whatever the exit code (128 when a signal ended
 * it, a timeout's SIGTERM included); rejects only when it cannot be started (ENOENT, say).
 */
export function run(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const stdin = opts.input !== undefined ? "pipe" : opts.stream ? "inherit" : "ignore";
  const output = opts.stream ? "inherit" : "pipe";
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: mergeEnv(opts.env), cwd: opts.cwd, stdio: [stdin, output, output] });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = timeoutMs > 0 ? setTimeout(() => child.kill("SIGTERM"), timeoutMs) : undefined;
    const stop = () => child.kill("SIGTERM");
    opts.signal?.addEventListener("abort", stop, { once: true });
    child.on("exit", () => opts.signal?.removeEventListener("abort", stop));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, stdout, stderr });
    });
    // A program that exits without reading all of its input is not an error here: its exit code says.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(opts.input);
  });
}

/** Runs a program and throws ExecError unless it exits 0. */
export async function runOk(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const result = await run(file, args, opts);
  if (result.code !== 0) throw new ExecError(file + (args[0] ? ` ${args[0]}` : ""), result, lastLines(result.stderr || result.stdout));
  return result;
}

/** The runtime's environment with overrides; an override of undefined removes the variable. */
export function mergeEnv(overrides: ExecOptions["env"] = {}): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return merged;
}
