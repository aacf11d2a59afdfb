/**
 * docker-ensure-initdb.sh and docker-enforce-initdb.sh, as the official image ships them (for
 * Kubernetes init containers and CI): initialize an empty PGDATA exactly as the entrypoint's first
 * start does (directories, TLS files, initdb, CREATE DATABASE, /docker-entrypoint-initdb.d with a
 * socket-only temporary server), then exit without leaving a server running. On a PGDATA that
 * already holds a database, ensure does nothing and exits 0; enforce refuses it with one line.
 * Backups, the stanza and postgres-ba.conf are left to the entrypoint's next start, which finds
 * the database marked as this image's own and bootstraps backups as for any new database.
 */
import { hasDatabase } from "./datadir/state.js";
import { parseEnv } from "./env/parse.js";
import { exitCodes } from "./lib/exit-codes.js";
import { log } from "./lib/log.js";
import { becomeAccount, isRoot, postgresAccount } from "./lib/user.js";
import { checkOldLayout } from "./steps/check-old-layout.js";
import { checkPermissions } from "./steps/check-permissions.js";
import { ensureTls } from "./steps/ensure-tls.js";
import { initDatabase } from "./steps/init-database.js";
import { prepareDirectories } from "./steps/prepare-directories.js";
import { lockDataDirectoryStep } from "./steps/lock-data-directory.js";
import { runStep, type Context, type Step } from "./steps/step.js";
import { verifyMinimumEnv } from "./steps/verify-minimum-env.js";
import { FatalError } from "./errors.js";

export type InitMode = "ensure-initdb" | "enforce-initdb";

const asRoot: Step[] = [checkOldLayout, checkPermissions, lockDataDirectoryStep, verifyMinimumEnv, prepareDirectories];
const asPostgres: Step[] = [ensureTls, initDatabase];

/** argv: optional "postgres", then server arguments (used by the temporary server, as upstream). */
export async function ensureInitdb(mode: InitMode, argv: string[]): Promise<number> {
  const serverArgs = argv[0] === "postgres" ? argv.slice(1) : argv;
  const env = parseEnv(process.env);
  const account = postgresAccount();
  const ctx: Context = { env, serverArgs, account, hasDatabase: () => hasDatabase(env.PGDATA), path: { kind: "initialize" } };
  if (ctx.hasDatabase()) {
    if (mode === "enforce-initdb") {
      throw new FatalError(
        `PGDATA ${env.PGDATA} already holds a database (PG_VERSION): docker-enforce-initdb.sh initializes only an empty one. Fix: use a new volume, or docker-ensure-initdb.sh to accept an initialized one`,
        exitCodes.dataDirectory,
      );
    }
    log(mode, `skipped: PGDATA ${env.PGDATA} already holds a database; nothing to do`);
    return 0;
  }
  // The data of a restore or a replica comes from elsewhere: initializing here would make the
  // entrypoint keep this empty database instead of restoring or cloning.
  const source = env.RESTORE_FROM_BACKUP
    ? "RESTORE_FROM_BACKUP=true (the data comes from the backup)"
    : env.PG_MODE === "replica"
      ? "PG_MODE=replica (the data is cloned from PRIMARY_HOST)"
      : undefined;
  if (source) {
    throw new FatalError(
      `${mode} initializes a new primary's database, but ${source}. Fix: let the container's entrypoint prepare PGDATA, or unset that variable`,
      exitCodes.usage,
    );
  }
  for (const step of asRoot) await runStep(step, ctx);
  if (isRoot()) becomeAccount(account);
  for (const step of asPostgres) await runStep(step, ctx);
  log(mode, `initialized ${env.PGDATA}; no server left running (the container's entrypoint starts it)`);
  return 0;
}
