/**
 * Backups from a standby (BACKUP_FROM_STANDBY): pgBackRest's backup-standby copies the files from
 * a replica while the primary serves only the backup's start and stop. The primary reaches the
 * replica's PostgreSQL files through pgBackRest's TLS server on the replica; both sides
 * authenticate with certificates of the cluster CA (the replica's server certificate, and one the
 * primary issued to backupClientName).
 */
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import type { BackupEnv } from "../env/parse.js";
import { logBackup } from "./log.js";
import { pgbackrestBinary } from "./pgbackrest.js";
import { standbyServerConfPath, withoutPgbackrestVariables } from "../render/pgbackrest-conf.js";
import { run } from "./exec.js";
import type { Service } from "./supervisor.js";
import { BackupError } from "../errors.js";
import { backupClientName, tlsPaths } from "./tls-paths.js";

/**
 * The backup command's options for a standby (pg2, the replica, beside pg1, this primary). The
 * replica runs PostgreSQL as this one does: same PGDATA, port and superuser. None when
 * BACKUP_FROM_STANDBY is off, or with prefer when no standby can be asked (no BACKUP_STANDBY_HOST,
 * one naming this member after a promotion, no client certificate or cluster CA: pgBackRest then
 * backs up from the primary, as prefer does for a standby that does not answer); with require
 * those are a BackupError naming the cause.
 */
export function backupStandbyArgs(env: BackupEnv, mode: BackupEnv["BACKUP_FROM_STANDBY"] = env.BACKUP_FROM_STANDBY): string[] {
  if (mode === "off") return [];
  const p = tlsPaths(env);
  const host = env.BACKUP_STANDBY_HOST;
  // pg2 naming this member (a promoted replica with the cluster's common settings) would be a second primary to pgBackRest.
  const self = host !== undefined && [env.SERVER_NAME, hostname(), "localhost"].some((name) => name.toLowerCase() === host.toLowerCase());
  const unusable = !host
    ? "BACKUP_STANDBY_HOST is not set on this member"
    : self
      ? `BACKUP_STANDBY_HOST=${host} is this member (promoted since?)`
      : !existsSync(p.caCert)
        ? `CA_DIR ${env.CA_DIR} has no ca.crt, the cluster CA the standby's TLS server trusts`
        : !existsSync(p.backupClientCert) || !existsSync(p.backupClientKey)
          ? `${p.backupClientCert} was not issued (CA_DIR has no ca.key)`
          : undefined;
  if (unusable && mode === "require") {
    throw new BackupError(
      `BACKUP_FROM_STANDBY=require, but ${unusable}. Fix: name a streaming replica in BACKUP_STANDBY_HOST, or set BACKUP_FROM_STANDBY=prefer`,
    );
  }
  if (unusable) return [];
  return [
    `--backup-standby=${mode === "require" ? "y" : "prefer"}`,
    `--pg2-host=${host}`,
    "--pg2-host-type=tls",
    `--pg2-host-config=${standbyServerConfPath}`,
    `--pg2-host-port=${env.BACKUP_STANDBY_PORT}`,
    `--pg2-host-ca-file=${p.caCert}`,
    `--pg2-host-cert-file=${p.backupClientCert}`,
    `--pg2-host-key-file=${p.backupClientKey}`,
    `--pg2-path=${env.PGDATA}`,
    `--pg2-port=${env.POSTGRES_PORT}`,
    "--pg2-socket-path=/var/run/postgresql",
    `--pg2-user=${env.POSTGRES_USER}`,
  ];
}

/**
 * pgBackRest's TLS server on this standby, so the primary can copy a backup's files from it. It
 * accepts only clients whose certificate the cluster CA (CA_DIR/ca.crt, never a root.crt brought
 * along, which may be a public or company root) issued to backupClientName, for this stanza. Such
 * a client can read and write files here as postgres: the CA key is as powerful as that account.
 * pgBackRest reads the options a client sends, so the server gets no repository, keys or
 * passphrases (standbyServerConfPath, and an environment without PGBACKREST_*). Supervised: restarted with back-off when it exits, stopped with the container.
 */
export function standbyServerService(env: BackupEnv): Service {
  const p = tlsPaths(env);
  return {
    name: "pgbackrest-server",
    async run(signal) {
      if (!existsSync(p.caCert)) {
        logBackup("pgbackrest-server", `not started: CA_DIR ${env.CA_DIR} has no ca.crt, so no client could be verified as the cluster's`, true);
        return;
      }
      const server = run(
        pgbackrestBinary,
        [
          "server",
          `--config=${standbyServerConfPath}`,
          "--tls-server-address=*",
          `--tls-server-port=${env.BACKUP_STANDBY_PORT}`,
          `--tls-server-cert-file=${p.serverCert}`,
          `--tls-server-key-file=${p.serverKey}`,
          `--tls-server-ca-file=${p.caCert}`,
          `--tls-server-auth=${backupClientName}=${env.PGBACKREST_STANZA}`,
        ],
        { timeoutMs: 0, signal, env: withoutPgbackrestVariables(process.env) },
      );
      logBackup(
        "pgbackrest-server",
        `serving this standby's files for backups from a standby on port ${env.BACKUP_STANDBY_PORT} (TLS, clients of the cluster CA named ${backupClientName})`,
      );
      const result = await server;
      if (!signal.aborted)
        throw new Error(`pgbackrest server exited with ${result.code}: ${(result.stderr || result.stdout).trim().split("\n").slice(-2).join(" | ")}`);
    },
  };
}
