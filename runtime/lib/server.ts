/**
 * Runs the process that holds the server as a child and relays the container's stop signals to
 * it: PostgreSQL itself (SIGINT, the image's STOPSIGNAL, is a fast shutdown, SIGTERM a smart one,
 * SIGQUIT immediate) or, with HA_MODE=patroni, Patroni, which stops PostgreSQL on SIGTERM.
 * Resolves with the exit status the container should end with.
 */
import { spawn } from "node:child_process";
import type { Env } from "../env/table.js";
import { mergeEnv } from "./exec.js";

const relayed = ["SIGINT", "SIGTERM", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2"] as const;
type Relayed = (typeof relayed)[number];

export interface RunningServer {
  exited: Promise<number>;
  /** A fast shutdown; `exited` settles when it is down. */
  stop(): void;
}

/** `overrides` are added to the inherited environment; undefined removes a variable. */
export function runServer(env: Env, serverArgs: string[], overrides: Record<string, string | undefined>): RunningServer {
  return runForeground("postgres", serverArgs, serverEnv(env, overrides), "SIGINT");
}

/**
 * Patroni with its configuration file. Python ends on SIGINT without its shutdown path, so the
 * image's STOPSIGNAL reaches Patroni as SIGTERM: it stops PostgreSQL (fast) and releases the
 * leader lock before it exits, and another member takes over at once instead of after the ttl.
 */
export function runPatroni(env: Env, confPath: string, overrides: Record<string, string | undefined>): RunningServer {
  return runForeground("patroni", [confPath], serverEnv(env, overrides), "SIGTERM", { SIGINT: "SIGTERM" });
}

function serverEnv(env: Env, overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return mergeEnv({ ...overrides, PGDATA: env.PGDATA, PGPORT: String(env.POSTGRES_PORT) });
}

export function runForeground(
  command: string,
  args: string[],
  childEnv: NodeJS.ProcessEnv,
  stopSignal: NodeJS.Signals,
  translate: Partial<Record<Relayed, NodeJS.Signals>> = {},
): RunningServer {
  const child = spawn(command, args, { stdio: "inherit", env: childEnv });
  const handlers = relayed.map((signal) => {
    const handler = () => child.kill(translate[signal] ?? signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      resolve(code ?? 128 + (signal ? signalNumber(signal) : 1));
    });
  });
  return { exited, stop: () => child.kill(stopSignal) };
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}
