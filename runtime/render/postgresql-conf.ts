/**
 * postgres-ba.conf: the PostgreSQL settings this image owns. It is rewritten at every start and
 * included at the end of postgresql.conf, so ALTER SYSTEM (postgresql.auto.conf) and `-c`
 * arguments still override it.
 */
import { backupsEnabled, repositoryWritable } from "../env/parse.js";
import type { Env } from "../env/table.js";
import { archiveGetCommand, pgbackrestBinary } from "../lib/pgbackrest.js";
import { tlsPaths } from "../lib/tls-paths.js";

export const managedConfName = "postgres-ba.conf";
export const includeLine = `include_if_exists = '${managedConfName}'`;

/** discard until the stanza exists and a first full backup is wanted, then pgbackrest. */
export type ArchiveState = "discard" | "pgbackrest";

/** A standby's connection to its primary: conninfo without a password (it is in a passfile). */
export interface StandbySettings {
  primaryConninfo: string;
  slot: string;
}

export function renderPostgresqlConf(env: Env, archive: ArchiveState, standby?: StandbySettings): string {
  const tls = tlsPaths(env);
  const lines = [
    "# Managed by postgres-ba: rewritten from environment variables at every start. Do not edit;",
    "# override with ALTER SYSTEM or `-c name=value` arguments instead.",
    "listen_addresses = '*'",
    `port = ${env.POSTGRES_PORT}`,
    "ssl = on",
    `ssl_cert_file = ${quote(tls.serverCert)}`,
    `ssl_key_file = ${quote(tls.serverKey)}`,
    `ssl_ca_file = ${quote(tls.rootCert)}`,
    "wal_level = replica",
    `max_wal_senders = ${env.MAX_WAL_SENDERS}`,
    `max_replication_slots = ${env.MAX_REPLICATION_SLOTS}`,
    // pg_rewind needs it: an old primary can rejoin the new one without a full clone.
    "wal_log_hints = on",
  ];
  if (repositoryWritable(env)) {
    lines.push("archive_mode = on", `archive_timeout = ${env.ARCHIVE_TIMEOUT}`);
    if (archive === "pgbackrest") {
      lines.push(`archive_command = ${quote(`${pgbackrestBinary} --stanza=${env.PGBACKREST_STANZA} archive-push %p`)}`);
    } else {
      // Before the first full backup no restore can use this WAL, so it is acknowledged and not
      // kept: pg_wal cannot fill up while the stanza does not exist yet (and nothing logs errors).
      lines.push("# no full backup exists yet: WAL is not archived until `postgres-ba init-backups` or the first backup runs", "archive_command = '/bin/true'");
    }
  }
  if (backupsEnabled(env)) {
    // Used only in recovery: a standby behind its slot, pg_rewind --restore-target-wal.
    lines.push(`restore_command = ${quote(archiveGetCommand(env))}`);
  }
  if (standby) {
    lines.push(
      "# standby of PRIMARY_HOST (standby.signal); `postgres-ba promote` makes it a primary",
      "hot_standby = on",
      `primary_conninfo = ${quote(standby.primaryConninfo)}`,
      `primary_slot_name = ${quote(standby.slot)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** postgresql.conf with the include line appended once. */
export function withIncludeLine(postgresqlConf: string): string {
  if (postgresqlConf.split("\n").some((l) => l.trim() === includeLine)) return postgresqlConf;
  const sep = postgresqlConf.endsWith("\n") || postgresqlConf === "" ? "" : "\n";
  return `${postgresqlConf}${sep}\n# Settings owned by the postgres-ba entrypoint (rewritten at every start)\n${includeLine}\n`;
}

export function quote(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}
