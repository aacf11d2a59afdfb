/**
 * Initializes an empty PGDATA exactly as the official image does: initdb with the superuser and
 * its password, the `host all all all <method>` line, a socket-only temporary server,
 * CREATE DATABASE POSTGRES_DB, /docker-entrypoint-initdb.d, and a fast stop.
 * Idempotent because it runs only when PG_VERSION was absent at container start.
 */
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOk } from "../lib/exec.js";
import { exitCodes } from "../lib/exit-codes.js";
import { entrypointScript, initFilesScript } from "../lib/init-files-script.js";
import { psql, startTempServer, stopTempServer } from "../lib/postgres.js";
import { splitShellWords } from "../lib/shell-words.js";
import { writeState } from "../lib/state.js";
import { providePasswdEntry } from "../lib/user.js";
import { officialHostLine } from "../render/pg-hba.js";
import { did, type Context, type Step } from "./step.js";
import { FatalError } from "../errors.js";

export const initDbDir = "/docker-entrypoint-initdb.d";

export const initDatabase: Step = {
  name: "init-database",
  async run(ctx) {
    // The initialize path only (an empty PGDATA); a database's start logs the official skip line.
    const { env, serverArgs } = ctx;
    // Fail before initdb when the scripts are unreadable, so no half-initialized database is left.
    const initFiles = readdirSync(initDbDir)
      .sort()
      .map((f) => join(initDbDir, f));
    let initdbArgs: string[];
    try {
      initdbArgs = splitShellWords(env.POSTGRES_INITDB_ARGS);
    } catch (e) {
      throw new FatalError(
        `POSTGRES_INITDB_ARGS=${JSON.stringify(env.POSTGRES_INITDB_ARGS)}: ${(e as Error).message}. Fix: close the quote.`,
        exitCodes.config,
      );
    }
    const waldir = env.POSTGRES_INITDB_WALDIR ? ["--waldir", env.POSTGRES_INITDB_WALDIR] : [];
    if (providePasswdEntry(env.PGDATA) === "unavailable") {
      throw new FatalError(
        `running as uid ${process.getuid?.()}, which has no passwd entry, and this image has no nss_wrapper (libnss_wrapper.so) to give initdb one. Fix: run as a uid the image knows (--user postgres), or install nss_wrapper in the image`,
        exitCodes.dataDirectory,
      );
    }
    await withPasswordFile(env.POSTGRES_PASSWORD ?? "", (pwfile) =>
      runOk("initdb", [`--username=${env.POSTGRES_USER}`, `--pwfile=${pwfile}`, ...waldir, ...initdbArgs], { stream: true }),
    );

    const method =
      env.POSTGRES_HOST_AUTH_METHOD ?? (await runOk("postgres", ["-C", "password_encryption", ...serverArgs], { env: { PGDATA: env.PGDATA } })).stdout.trim();
    appendFileSync(join(env.PGDATA, "pg_hba.conf"), officialHostLine(method));
    // Marks the database as ours: backups start by themselves once a stanza is configured.
    writeState(env.PGDATA, { backups: "pending", stanza: env.PGBACKREST_STANZA, initializedAt: new Date().toISOString() });

    await startTempServer(env, serverArgs);
    try {
      await createDatabase(ctx);
      await runInitFiles(ctx, initFiles);
    } finally {
      await stopTempServer(env);
    }
    process.stdout.write("\nPostgreSQL init process complete; ready for start up.\n\n");
    return did(`initdb as ${env.POSTGRES_USER}, host auth ${method}, database ${env.POSTGRES_DB}, ${initFiles.length} init file(s)`);
  },
};

/**
 * initdb reads the password from a file. Upstream uses a pipe (<(printf ...)); Node hands children
 * sockets, which initdb cannot open as /dev/stdin, so: a 0600 file in a private 0700 directory,
 * removed as soon as initdb returns. --pwfile refuses a truly empty file, hence the newline.
 */
async function withPasswordFile<T>(password: string, use: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "postgres-ba-"));
  const file = join(dir, "pwfile");
  try {
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    return await use(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function createDatabase({ env }: Context): Promise<void> {
  const exists = await psql(env, "SELECT 1 FROM pg_database WHERE datname = :'db';", { vars: { db: env.POSTGRES_DB } });
  if (!exists) await psql(env, 'CREATE DATABASE :"db";', { vars: { db: env.POSTGRES_DB } });
}

/** Resolved values (including *_FILE secrets) are exported to init scripts, as upstream's file_env does. */
async function runInitFiles({ env }: Context, files: string[]): Promise<void> {
  if (files.length === 0) return;
  await runOk("bash", ["-c", initFilesScript, entrypointScript, ...files], {
    stream: true,
    timeoutMs: 24 * 3600_000,
    env: {
      POSTGRES_USER: env.POSTGRES_USER,
      POSTGRES_DB: env.POSTGRES_DB,
      POSTGRES_PASSWORD: env.POSTGRES_PASSWORD ?? "",
      PGPASSWORD: process.env.PGPASSWORD ?? env.POSTGRES_PASSWORD ?? "",
      PGDATA: env.PGDATA,
      PGPORT: String(env.POSTGRES_PORT),
      PGHOST: "/var/run/postgresql",
      POSTGRES_PASSWORD_FILE: undefined,
      POSTGRES_USER_FILE: undefined,
      POSTGRES_DB_FILE: undefined,
    },
  });
}
