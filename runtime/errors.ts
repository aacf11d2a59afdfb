/**
 * Every error the runtime raises on purpose, in one module. Each says what happened in one line;
 * the entrypoint turns FatalError and ConfigError into an exit code and that line.
 */
import type { ExecResult } from "./lib/exec.js";
import type { FailureKind } from "./lib/replication.js";

/** The one kind of error a configuration problem raises: one line naming the variable, the value and the fix. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${variable}: ${problem}. Fix: ${fix}.`);
  }
}

/** A value that is not of its variable's kind; parse.ts turns it into a ConfigError naming the variable. */
export class KindError extends Error {
  /**
   * @param expects what a valid value looks like (the fix names it)
   * @param reason why this value is refused, when that says more than "expected <expects>"
   */
  constructor(
    expects: string,
    readonly reason?: string,
  ) {
    super(expects);
  }
}

/** A failure the user can fix: printed as one line, exit code from the table in lib/exit-codes. */
export class FatalError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly topic?: string,
  ) {
    super(message);
  }
}

/** A command the runtime ran exited non-zero. */
export class ExecError extends Error {
  constructor(
    readonly command: string,
    readonly result: ExecResult,
    detail: string,
  ) {
    super(`${command} exited with ${result.code}: ${detail}`);
  }
}

/** A backup, or the stanza a backup needs, failed: logged, and the next tick or restart tries again. */
export class BackupError extends Error {}

/** The repository could not be read (S3 unreachable, keys refused, ...). */
export class RepositoryError extends Error {}

/** The repository is readable, but its encryption and the passphrase set here do not match. */
export class EncryptionMismatchError extends RepositoryError {}

/** The restore asked for cannot be done with the backups in the repository. */
export class RestorePlanError extends Error {
  constructor(
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${problem}. Fix: ${fix}.`);
  }
}

/** PRIMARY_HOST refused or could not be reached, with the kind of failure. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** Another container or process holds the data directory's lock. */
export class DataLockError extends Error {}
