/** Writes postgres-ba.conf into PGDATA: what configure-postgres writes at start and backups rewrite when the stanza becomes active. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Env } from "../env/table.js";
import { managedConfName, renderPostgresqlConf, type ArchiveState, type StandbySettings } from "../render/postgresql-conf.js";

export function writeManagedConf(env: Env, archive: ArchiveState, standby?: StandbySettings): void {
  writeFileSync(join(env.PGDATA, managedConfName), renderPostgresqlConf(env, archive, standby), { mode: 0o600 });
}
