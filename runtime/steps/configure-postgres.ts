/**
 * Writes postgres-ba.conf (TLS, WAL and archiving settings), includes it from postgresql.conf
 * once, and keeps the managed pg_hba.conf block. The same on a new, restored or adopted data
 * directory; rewriting identical content makes it idempotent.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repositoryWritesOff } from "../env/parse.js";
import type { Env } from "../env/table.js";
import { conninfo, isStandbyData, upstreamOf, writePassfile } from "../lib/replication.js";
import { backupState } from "../lib/state.js";
import { withHbaBlock } from "../render/pg-hba.js";
import { writeManagedConf } from "../lib/managed-conf.js";
import { managedConfName, withIncludeLine, type ArchiveState, type StandbySettings } from "../render/postgresql-conf.js";
import { did, type Step } from "./step.js";

export const configurePostgres: Step = {
  name: "configure-postgres",
  run({ env }) {
    const archive = archiveState(env);
    const standby = standbySettings(env);
    writeManagedConf(env, archive, standby);
    const confPath = join(env.PGDATA, "postgresql.conf");
    const conf = readFileSync(confPath, "utf8");
    const included = withIncludeLine(conf);
    if (included !== conf) writeFileSync(confPath, included);
    const hbaPath = join(env.PGDATA, "pg_hba.conf");
    writeFileSync(hbaPath, withHbaBlock(readFileSync(hbaPath, "utf8")));
    const writesOff = repositoryWritesOff(env);
    const archiving = writesOff
      ? `archiving off (${writesOff})`
      : archive === "pgbackrest"
        ? "WAL archived to pgBackRest"
        : "WAL not archived until the first full backup";
    const role = standby ? `standby of ${env.PRIMARY_HOST} through slot ${standby.slot}, ${env.REPLICATION_SSLMODE}` : "primary";
    return did(`${managedConfName} written (${role}, ssl on, wal_level replica, ${archiving}); replication only over hostssl`);
  },
};

/** A standby streams from PRIMARY_HOST; its password goes to a 0600 passfile beside PGDATA. */
function standbySettings(env: Env): StandbySettings | undefined {
  if (env.PG_MODE !== "replica" || !isStandbyData(env.PGDATA)) return undefined;
  const up = upstreamOf(env);
  return { primaryConninfo: conninfo(up, { passfile: writePassfile(env.PGDATA, up) }), slot: up.slot };
}

/** WAL goes to the repository only once this data directory's stanza is active. */
export function archiveState(env: Env): ArchiveState {
  return backupState(env.PGDATA, env.PGBACKREST_STANZA) === "active" ? "pgbackrest" : "discard";
}
