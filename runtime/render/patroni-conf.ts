/**
 * patroni.yml for HA_MODE=patroni, rendered from the variable table at every start. Patroni owns
 * PostgreSQL's start, stop, promotion, demotion and recovery settings; this file hands it what
 * the runtime owns elsewhere: TLS files, pgBackRest's archive and restore commands, the
 * official image's initialization (a custom bootstrap method that runs `postgres-ba
 * ha-bootstrap`), replicas cloned from the repository first, and etcd over TLS with the cluster
 * CA. Written as JSON, which YAML reads as it is: no YAML library for one file.
 */
import { backupsEnabled, repositoryWritable } from "../env/parse.js";
import type { Env } from "../env/table.js";
import { archiveGetCommand, pgbackrestBinary } from "../lib/pgbackrest.js";
import { runtimeDir } from "../lib/state.js";
import { tlsPaths } from "../lib/tls-paths.js";

/** Created by the image's ha target, 0700 postgres: the file holds the members' passwords. */
export const patroniConfPath = "/etc/patroni/patroni.yml";

/**
 * The entrypoint's environment, for `postgres-ba ha-bootstrap`: Patroni runs it with its own
 * environment, which holds pgBackRest's options as the runtime sets them, not the user's settings.
 */
export const entrypointEnvPath = "/etc/patroni/entrypoint-env.json";

/** The REST API's user for requests that change something (HA_REST_PASSWORD is its password). */
export const patroniRestUser = "patroni";

/** The name of the custom bootstrap method (Patroni runs its command on the member that initializes the cluster). */
const bootstrapMethod = "postgres_ba";

/** `namespace`: the pod's, where Patroni keeps the state with HA_STORE=kubernetes (lib/patroni.ts podNamespace). */
export function renderPatroniConf(env: Env, serverArgs: string[] = [], namespace = "default"): string {
  return `# Managed by postgres-ba: rewritten from environment variables at every start. Do not edit.\n${JSON.stringify(patroniConf(env, serverArgs, namespace), null, 2)}\n`;
}

/**
 * Settings Patroni takes from the cluster's shared configuration only (its CMDLINE_OPTIONS): a
 * member's own value would be dropped, so they go to the configuration the cluster is
 * bootstrapped with. listen_addresses, port and cluster_name are Patroni's own.
 */
const sharedSettings = new Set([
  "max_connections",
  "max_locks_per_transaction",
  "max_worker_processes",
  "max_prepared_transactions",
  "track_commit_timestamp",
  "wal_keep_size",
  "max_wal_senders",
  "max_replication_slots",
  "wal_level",
  "hot_standby",
  "wal_log_hints",
]);
const patroniOwnSettings = new Set(["listen_addresses", "port", "cluster_name"]);

/**
 * `docker run image -c shared_buffers=1GB` (or `--shared_buffers=1GB`): Patroni starts PostgreSQL
 * itself, so the server's arguments become parameters: this member's own, or, for the settings
 * every member must share, the cluster's first configuration. Anything else is refused: Patroni
 * would not pass it on.
 */
export function serverArgsAsParameters(serverArgs: string[]): { local: Record<string, string>; shared: Record<string, string> } {
  const parameters = { local: {} as Record<string, string>, shared: {} as Record<string, string> };
  for (let i = 0; i < serverArgs.length; i++) {
    const arg = serverArgs[i];
    const setting = arg === "-c" ? serverArgs[++i] : arg.startsWith("-c") ? arg.slice(2) : arg.startsWith("--") ? arg.slice(2) : undefined;
    const match = setting?.match(/^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$/s);
    if (!match) throw new Error(`${JSON.stringify(arg)} cannot be passed on under HA_MODE=patroni (Patroni starts PostgreSQL); only settings can`);
    const name = match[1].replace(/-/g, "_").toLowerCase();
    if (patroniOwnSettings.has(name)) throw new Error(`${name} is set by Patroni under HA_MODE=patroni (from POSTGRES_PORT, HA_SCOPE)`);
    parameters[sharedSettings.has(name) ? "shared" : "local"][name] = match[2];
  }
  return parameters;
}

/**
 * Labels Patroni looks its members' pods up by and sets on the objects it creates under
 * HA_STORE=kubernetes, with the scope under `cluster-name` (Patroni's scope_label) and the role
 * under `role` (primary or replica): what deploy/kubernetes selects on.
 */
export const kubernetesLabels = { "app.kubernetes.io/name": "postgres-pgbackrest" };

/** Where Patroni keeps the cluster's state: etcd over TLS with the cluster CA, or the Kubernetes API as ConfigMaps. */
function patroniStore(env: Env, namespace: string): { etcd3?: Record<string, unknown>; kubernetes?: Record<string, unknown> } {
  if (env.HA_STORE === "kubernetes") {
    return { kubernetes: { namespace, labels: kubernetesLabels, scope_label: "cluster-name", role_label: "role" } };
  }
  const tls = tlsPaths(env);
  return {
    etcd3: {
      hosts: env.HA_ETCD_HOSTS?.split(","),
      protocol: env.HA_ETCD_PROTOCOL,
      ...(env.HA_ETCD_PROTOCOL === "https" ? { cacert: tls.caCert, cert: tls.serverCert, key: tls.serverKey } : {}),
    },
  };
}

export function patroniConf(env: Env, serverArgs: string[] = [], namespace = "default") {
  const fromArgs = serverArgsAsParameters(serverArgs);
  const tls = tlsPaths(env);
  const withBackups = backupsEnabled(env);
  const address = env.HA_ADVERTISE_ADDRESS;
  // Members verify each other's certificates against the cluster CA; the names need not match
  // (verify-ca), as for replicas outside HA mode (REPLICATION_SSLMODE's default). libpq ignores
  // sslmode on the unix socket Patroni uses for its own superuser connection; pg_rewind's to the
  // leader (as the superuser) is verified.
  const verified = { sslmode: "verify-ca", sslrootcert: tls.caCert };
  const superuser = { username: env.POSTGRES_USER, ...(env.POSTGRES_PASSWORD ? { password: env.POSTGRES_PASSWORD } : {}), ...verified };
  return {
    scope: env.HA_SCOPE,
    name: env.HA_MEMBER_NAME,
    log: { level: "INFO" },
    restapi: {
      listen: `0.0.0.0:${env.HA_REST_PORT}`,
      connect_address: `${address}:${env.HA_REST_PORT}`,
      certfile: tls.serverCert,
      keyfile: tls.serverKey,
      cafile: tls.caCert,
      // Reads (role, health) are open, as probes need; a change asks for the password.
      authentication: { username: patroniRestUser, password: env.HA_REST_PASSWORD },
    },
    ctl: { cacert: tls.caCert },
    ...patroniStore(env, namespace),
    bootstrap: {
      dcs: {
        ttl: env.HA_TTL,
        loop_wait: env.HA_LOOP_WAIT,
        retry_timeout: env.HA_RETRY_TIMEOUT,
        maximum_lag_on_failover: 1048576,
        synchronous_mode: env.HA_SYNCHRONOUS_MODE !== "off",
        synchronous_mode_strict: env.HA_SYNCHRONOUS_MODE === "strict",
        failsafe_mode: env.HA_FAILSAFE_MODE,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          // Settings every member must share live in etcd; these are the first values.
          parameters: {
            wal_level: "replica",
            hot_standby: "on",
            wal_log_hints: "on",
            max_wal_senders: env.MAX_WAL_SENDERS,
            max_replication_slots: env.MAX_REPLICATION_SLOTS,
            ...fromArgs.shared,
          },
        },
      },
      method: bootstrapMethod,
      // The official image's initialization (initdb, POSTGRES_DB, /docker-entrypoint-initdb.d),
      // or with RESTORE_FROM_BACKUP a restore whose recovery settings pgBackRest wrote (kept:
      // Patroni waits for that server to promote itself); Patroni then sets the superuser's
      // password and creates the replication role itself.
      [bootstrapMethod]: { command: "postgres-ba ha-bootstrap", no_params: true, keep_existing_recovery_conf: true },
    },
    postgresql: {
      listen: `*:${env.POSTGRES_PORT}`,
      connect_address: `${address}:${env.POSTGRES_PORT}`,
      data_dir: env.PGDATA,
      pgpass: `${runtimeDir(env.PGDATA)}/patroni.pgpass`,
      use_unix_socket: true,
      authentication: {
        superuser,
        replication: { username: env.REPLICATION_USER, password: env.REPLICATION_PASSWORD, ...verified },
      },
      parameters: {
        ssl: "on",
        ssl_cert_file: tls.serverCert,
        ssl_key_file: tls.serverKey,
        ssl_ca_file: tls.rootCert,
        ...(repositoryWritable(env)
          ? {
              archive_mode: "on",
              archive_timeout: env.ARCHIVE_TIMEOUT,
              archive_command: `${pgbackrestBinary} --stanza=${env.PGBACKREST_STANZA} archive-push %p`,
            }
          : {}),
        ...fromArgs.local,
      },
      // A replica (and pg_rewind --restore-target-wal) reads what it misses from the repository.
      ...(withBackups ? { recovery_conf: { restore_command: archiveGetCommand(env) } } : {}),
      pg_hba: [
        "local all all trust",
        `hostssl replication ${env.REPLICATION_USER} all scram-sha-256`,
        "hostnossl replication all all reject",
        `host all all all ${env.POSTGRES_HOST_AUTH_METHOD ?? "scram-sha-256"}`,
      ],
      // A new member restores the latest backup when there is one (no load on the leader), else
      // copies the leader with pg_basebackup.
      create_replica_methods: withBackups ? ["pgbackrest", "basebackup"] : ["basebackup"],
      ...(withBackups ? { pgbackrest: { command: "postgres-ba ha-create-replica", keep_data: true, no_params: true } } : {}),
      basebackup: [{ checkpoint: "fast" }],
      // The repository's split-brain guard, as a fence before any promotion (cli/ha-commands.ts).
      pre_promote: "postgres-ba ha-pre-promote",
    },
    // Containers have no /dev/watchdog; Patroni would warn at every loop.
    watchdog: { mode: "off" },
  };
}
