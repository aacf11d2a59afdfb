/**
 * The one way the runtime runs a program, on top of zx: arguments are quoted by zx (never a
 * string we build), the environment is explicit, every call has a timeout, and output is
 * captured unless asked to stream into the container log.
 */
import { $ } from "zx";
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
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function lastLines(text: string, n = 3): string {
  return text.trim().split("\n").slice(-n).join(" | ");
}

/** Runs a program and resolves with its result whatever the exit code. */
export async function run(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const shell = $({
    env: mergeEnv(opts.env),
    cwd: opts.cwd,
    input: opts.input,
    nothrow: true,
    quiet: true,
    verbose: false,
    stdio: opts.stream ? [opts.input === undefined ? "inherit" : "pipe", "inherit", "inherit"] : "pipe",
    ...(timeoutMs > 0 ? { timeout: timeoutMs } : {}),
  });
  const out = await shell`${file} ${args}`;
  return { code: out.exitCode ?? 128, stdout: out.stdout, stderr: out.stderr };
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
