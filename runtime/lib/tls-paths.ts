import { join } from "node:path";
import type { Env } from "../env/table.js";

/** Where TLS material lives; file names follow the seed (server.crt, server.key, root.crt). */
export function tlsPaths(env: Pick<Env, "CA_DIR" | "SSL_CERT_DIR">) {
  return {
    caCert: join(env.CA_DIR, "ca.crt"),
    caKey: join(env.CA_DIR, "ca.key"),
    serverCert: join(env.SSL_CERT_DIR, "server.crt"),
    serverKey: join(env.SSL_CERT_DIR, "server.key"),
    rootCert: join(env.SSL_CERT_DIR, "root.crt"),
    /** The certificate the primary shows a replica's pgBackRest TLS server (BACKUP_FROM_STANDBY), issued to backupClientName. */
    backupClientCert: join(env.SSL_CERT_DIR, "pgbackrest-client.crt"),
    backupClientKey: join(env.SSL_CERT_DIR, "pgbackrest-client.key"),
  };
}

/** The common name a replica's pgBackRest TLS server accepts (tls-server-auth) for backups from a standby. */
export const backupClientName = "postgres-ba-pgbackrest";
