/**
 * Backups from a standby (BACKUP_FROM_STANDBY): pgBackRest's backup-standby copies the files from
 * a replica while the primary serves only the backup's start and stop. The primary reaches the
 * replica's PostgreSQL files through pgBackRest's TLS server on the replica; both sides
 * authenticate with certificates of the cluster CA (the replica's server certificate, and one the
 * primary issued to backupClientName).
 */
import { existsSync } from "node:fs";
import type { BackupEnv } from "../env/parse.js";
import { logBackup } from "./log.js";
import { pgbackrestBinary } from "./pgbackrest.js";
import { run } from "./exec.js";
import { pgbackrestChildEnv } from "../render/pgbackrest-conf.js";
import type { Service } from "./supervisor.js";
import { backupClientName, tlsPaths } from "./tls-paths.js";

/**
 * The backup command's options for a standby (pg2, the replica, beside pg1, this primary); none
 * when BACKUP_FROM_STANDBY is off or, with prefer, when this member holds no client certificate
 * (warned at start). The replica runs PostgreSQL as this one does: same PGDATA, port and user.
 */
export function backupStandbyArgs(env: BackupEnv): string[] {
  const p = tlsPaths(env);
  if (env.BACKUP_FROM_STANDBY === "off" || !env.BACKUP_STANDBY_HOST || !existsSync(p.backupClientCert)) return [];
  return [
    `--backup-standby=${env.BACKUP_FROM_STANDBY === "require" ? "y" : "prefer"}`,
    `--pg2-host=${env.BACKUP_STANDBY_HOST}`,
    "--pg2-host-type=tls",
    `--pg2-host-port=${env.BACKUP_STANDBY_PORT}`,
    `--pg2-host-ca-file=${existsSync(p.caCert) ? p.caCert : p.rootCert}`,
    `--pg2-host-cert-file=${p.backupClientCert}`,
    `--pg2-host-key-file=${p.backupClientKey}`,
    `--pg2-path=${env.PGDATA}`,
    `--pg2-port=${env.POSTGRES_PORT}`,
    "--pg2-socket-path=/var/run/postgresql",
    `--pg2-user=${env.POSTGRES_USER}`,
  ];
}

/**
 * pgBackRest's TLS server on this member, so a primary can copy a backup's files from it. It
 * accepts only clients whose certificate the cluster CA issued to backupClientName, for this
 * stanza. Supervised: restarted with back-off when it exits, stopped with the container.
 */
export function standbyServerService(env: BackupEnv): Service {
  const p = tlsPaths(env);
  return {
    name: "pgbackrest-server",
    async run(signal) {
      logBackup(
        "pgbackrest-server",
        `serving this member's files for backups from a standby on port ${env.BACKUP_STANDBY_PORT} (TLS, clients of the cluster CA named ${backupClientName})`,
      );
      const result = await run(
        pgbackrestBinary,
        [
          "server",
          "--tls-server-address=*",
          `--tls-server-port=${env.BACKUP_STANDBY_PORT}`,
          `--tls-server-cert-file=${p.serverCert}`,
          `--tls-server-key-file=${p.serverKey}`,
          `--tls-server-ca-file=${existsSync(p.caCert) ? p.caCert : p.rootCert}`,
          `--tls-server-auth=${backupClientName}=${env.PGBACKREST_STANZA}`,
        ],
        { timeoutMs: 0, signal, env: pgbackrestChildEnv(env, process.env) },
      );
      if (!signal.aborted)
        throw new Error(`pgbackrest server exited with ${result.code}: ${(result.stderr || result.stdout).trim().split("\n").slice(-2).join(" | ")}`);
    },
  };
}
