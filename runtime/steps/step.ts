import type { StartPath } from "../datadir/state.js";
import type { Env } from "../env/table.js";
import { log } from "../lib/log.js";
import type { Account } from "../lib/user.js";
import { FatalError } from "../errors.js";

/** What every step of the entrypoint may read. Steps never keep state of their own. */
export interface Context {
  env: Env;
  /** postgres server arguments, without the leading "postgres". */
  serverArgs: string[];
  account: Account;
  /** PGDATA holds a database (PG_VERSION): checked live, since a restore or a rejoin changes it mid-lifecycle. */
  hasDatabase(): boolean;
  /** The path this start takes, decided once from the data directory (set before the path's own steps run). */
  path?: StartPath;
}

/** A step says what it did, or why it skipped; the entrypoint logs one line either way. */
export type StepResult = { did: string } | { skipped: string };

export interface Step {
  name: string;
  run(ctx: Context): Promise<StepResult> | StepResult;
}

export const did = (message: string): StepResult => ({ did: message });
export const skipped = (reason: string): StepResult => ({ skipped: reason });

/** Runs one step and logs its line; a step's failure is reported under the step's name. */
export async function runStep(step: Step, ctx: Context): Promise<void> {
  // then(): a step that throws synchronously is caught and named too.
  const result = await Promise.resolve()
    .then(() => step.run(ctx))
    .catch((e: unknown) => {
      throw e instanceof FatalError && !e.topic ? new FatalError(e.message, e.exitCode, step.name) : e;
    });
  log(step.name, "did" in result ? result.did : `skipped: ${result.skipped}`);
}
