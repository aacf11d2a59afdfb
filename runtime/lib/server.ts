/**
 * Runs the real PostgreSQL server as a child and relays the container's stop signals to it:
 * SIGINT (the image's STOPSIGNAL) is a fast shutdown, SIGTERM a smart one, SIGQUIT immediate.
 * Resolves with the exit status the container should end with.
 */
import { spawn } from "node:child_process";
import type { Env } from "../env/table.js";
import { mergeEnv } from "./exec.js";

const relayed = ["SIGINT", "SIGTERM", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2"] as const;

/** `overrides` are added to the inherited environment; undefined removes a variable. */
export interface RunningServer {
  exited: Promise<number>;
  /** A fast shutdown (SIGINT); `exited` settles when it is down. */
  stop(): void;
}

export function runServer(env: Env, serverArgs: string[], overrides: Record<string, string | undefined>): RunningServer {
  const childEnv = mergeEnv({ ...overrides, PGDATA: env.PGDATA, PGPORT: String(env.POSTGRES_PORT) });
  const child = spawn("postgres", serverArgs, { stdio: "inherit", env: childEnv });
  const handlers = relayed.map((signal) => {
    const handler = () => child.kill(signal);
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
  return { exited, stop: () => child.kill("SIGINT") };
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}
