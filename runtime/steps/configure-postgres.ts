/**
 * Writes postgres-ba.conf (TLS, WAL and archiving settings), includes it from postgresql.conf
 * once, and keeps the managed pg_hba.conf block. The same on a new, restored or adopted data
 * directory; rewriting identical content makes it idempotent.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupsEnabled } from "../env/parse.js";
import type { Env } from "../env/table.js";
import { backupState } from "../lib/state.js";
import { withHbaBlock } from "../render/pg-hba.js";
import { managedConfName, renderPostgresqlConf, withIncludeLine, type ArchiveState } from "../render/postgresql-conf.js";
import { did, type Step } from "./step.js";

export const configurePostgres: Step = {
  name: "configure-postgres",
  run({ env }) {
    const archive = archiveState(env);
    writeManagedConf(env, archive);
    const confPath = join(env.PGDATA, "postgresql.conf");
    const conf = readFileSync(confPath, "utf8");
    const included = withIncludeLine(conf);
    if (included !== conf) writeFileSync(confPath, included);
    const hbaPath = join(env.PGDATA, "pg_hba.conf");
    writeFileSync(hbaPath, withHbaBlock(readFileSync(hbaPath, "utf8")));
    const archiving = !backupsEnabled(env) ? "archiving off (drop-in mode)" : env.REPO_READ_ONLY ? "archiving off (REPO_READ_ONLY)" : archive === "pgbackrest" ? "WAL archived to pgBackRest" : "WAL not archived until the first full backup";
    return did(`${managedConfName} written (ssl on, wal_level replica, ${archiving}); replication only over hostssl`);
  },
};

/** WAL goes to the repository only once this data directory's stanza is active. */
export function archiveState(env: Env): ArchiveState {
  return backupState(env.PGDATA, env.PGBACKREST_STANZA) === "active" ? "pgbackrest" : "discard";
}

export function writeManagedConf(env: Env, archive: ArchiveState): void {
  writeFileSync(join(env.PGDATA, managedConfName), renderPostgresqlConf(env, archive), { mode: 0o600 });
}
