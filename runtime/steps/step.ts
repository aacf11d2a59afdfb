import type { Env } from "../env/table.js";
import type { Account } from "../lib/user.js";

/** What every step of the entrypoint may read. Steps never keep state of their own. */
export interface Context {
  env: Env;
  /** postgres server arguments, without the leading "postgres". */
  serverArgs: string[];
  account: Account;
  /** PGDATA holds a database (PG_VERSION): checked live, since a restore creates one mid-lifecycle. */
  hasDatabase(): boolean;
}

/** A step says what it did, or why it skipped; the entrypoint logs one line either way. */
export type StepResult = { did: string } | { skipped: string };

export interface Step {
  name: string;
  run(ctx: Context): Promise<StepResult> | StepResult;
}

export const did = (message: string): StepResult => ({ did: message });
export const skipped = (reason: string): StepResult => ({ skipped: reason });

/** A failure the user can fix: printed as one line, exit code from the table in lib/exit-codes. */
export class FatalError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}
