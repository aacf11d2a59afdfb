/**
 * Every environment variable the image reads. Names starting with PGBACKREST_ are reserved for
 * real pgBackRest options with the same meaning (pgBackRest reads PGBACKREST_<OPTION> itself):
 * the three below are the image's own; any other is passed to pgBackRest or refused at startup
 * (runtime/env/pgbackrest-env.ts). This table is the one source of truth for parsing, error
 * messages, `postgres-ba env` and the README's variable table (a unit test fails when the README
 * drifts from this table).
 */
import { availableParallelism, hostname } from "node:os";
import {
  bool,
  cron,
  directory,
  httpUrl,
  int,
  oneOf,
  oneOfExcept,
  path,
  pattern,
  pgName,
  restorePointName,
  storeEndpoint,
  storePath,
  text,
  timestampTz,
  xid,
  type Kind,
} from "./kinds.js";

export type Group = "PostgreSQL (official image)" | "Mode" | "Restore" | "Backups" | "Schedule" | "Repository" | "Replication" | "TLS" | "High availability";

/** Raw values already read, for defaults that depend on another variable. */
export type RawLookup = (name: string) => string | undefined;

export interface EnvVar<T = unknown> {
  readonly name: string;
  readonly kind: Kind<T>;
  readonly group: Group;
  readonly doc: string;
  /** Raw default (parsed like a user value); a function for defaults derived at run time. */
  readonly default?: string | ((raw: RawLookup) => string | undefined);
  /** How the default reads in docs when it is computed. */
  readonly defaultDoc?: string;
  /** Also readable from the file named by NAME_FILE (Docker secrets); setting both is an error. */
  readonly fileForm?: boolean;
  /** Never printed: errors show only its length. */
  readonly secret?: boolean;
  /** Newlines and tabs are separators here (other control characters are refused like everywhere). */
  readonly multiline?: boolean;
  /** Belongs to a repository of this REPO_TYPE only: with another type it is unused (reported at start). */
  readonly repository?: RepositoryType;
  /** Names where that repository is or signs in to it: with another REPO_TYPE it is refused, since the user meant that repository. */
  readonly places?: boolean;
  /** Belongs to this HA_STORE only: set with the other store it is refused, since it would do nothing. */
  readonly store?: "etcd3" | "kubernetes";
  /** Describes one repository, like every variable with `repository`: the second repository (REPO2_TYPE) has its own copy (secondRepositoryName). */
  readonly eachRepository?: boolean;
}

/** Whether the second repository has its own copy of this variable. */
export function describesRepository(spec: EnvVar): boolean {
  return spec.eachRepository === true || spec.repository !== undefined;
}

/** The second repository's name of a repository variable: REPO_PATH is REPO2_PATH, S3_BUCKET is REPO2_S3_BUCKET. */
export function secondRepositoryName(name: string): string {
  return `REPO2_${name.replace(/^REPO_/, "")}`;
}

export const repositoryTypes = ["s3", "azure", "gcs", "posix"] as const;
export type RepositoryType = (typeof repositoryTypes)[number];

/** POSTGRES_HOST_AUTH_METHOD values the official image writes blindly but that cannot work here. */
const hostAuthMethodsRefused: Record<string, string> = {
  ldap: "ldap needs ldapserver and a base DN or prefix on its pg_hba.conf line, which this variable cannot carry: PostgreSQL would refuse to load pg_hba.conf",
  radius: "radius needs radiusservers and radiussecrets on its pg_hba.conf line, which this variable cannot carry: PostgreSQL would refuse to load pg_hba.conf",
  cert: "cert works only on hostssl lines with client certificates signed by a CA in ssl_ca_file; the line written is `host all all all`, and PostgreSQL would refuse to load pg_hba.conf",
  gss: "gss needs a Kerberos keytab and realm configuration that the image does not have",
  sspi: "sspi exists only on Windows servers",
  ident: "ident over TCP asks an ident server on every client host, which containers do not run",
  pam: "pam needs a PAM service named postgresql that the image does not configure",
};

// `const` keeps each name a literal type, so Env below has one typed field per variable.
// biome-ignore lint/suspicious/noExplicitAny: each entry keeps its own value type; any is only the bound.
const v = <const S extends EnvVar<any>>(spec: S): S => spec;

export const envTable = [
  // --- the official image's contract ---
  v({
    name: "POSTGRES_PASSWORD",
    kind: text,
    group: "PostgreSQL (official image)",
    fileForm: true,
    secret: true,
    doc: "Superuser password, set at initialization. Required for a new database unless POSTGRES_HOST_AUTH_METHOD=trust.",
  }),
  v({
    name: "POSTGRES_USER",
    kind: pgName("a role name", `"$'\\`),
    group: "PostgreSQL (official image)",
    fileForm: true,
    default: "postgres",
    doc: "Superuser name, created at initialization.",
  }),
  v({
    name: "POSTGRES_DB",
    kind: pgName("a database name"),
    group: "PostgreSQL (official image)",
    fileForm: true,
    default: (raw) => raw("POSTGRES_USER"),
    defaultDoc: "POSTGRES_USER",
    doc: "Database created at initialization.",
  }),
  v({
    name: "POSTGRES_INITDB_ARGS",
    kind: text,
    group: "PostgreSQL (official image)",
    fileForm: true,
    default: "",
    multiline: true,
    doc: 'Extra initdb arguments, split like a shell would (quotes respected, nothing expanded), e.g. "--data-checksums --locale=C".',
  }),
  v({
    name: "POSTGRES_INITDB_WALDIR",
    kind: directory,
    group: "PostgreSQL (official image)",
    doc: "Put pg_wal in this directory (initdb --waldir), outside PGDATA.",
  }),
  v({
    name: "POSTGRES_HOST_AUTH_METHOD",
    kind: oneOfExcept(["scram-sha-256", "md5", "password", "trust", "reject"], hostAuthMethodsRefused),
    group: "PostgreSQL (official image)",
    defaultDoc: "password_encryption (scram-sha-256)",
    doc: "Method of the `host all all all` line added to pg_hba.conf at initialization. Methods that need settings one such line cannot carry (ldap, radius, gss, pam, ident, cert, sspi) are refused: write your own pg_hba.conf lines for them.",
  }),
  v({
    name: "POSTGRES_PORT",
    kind: int(1, 65535),
    group: "PostgreSQL (official image)",
    default: (raw) => raw("PGPORT") ?? "5432",
    defaultDoc: "PGPORT or 5432",
    doc: "Port PostgreSQL listens on (also exported as PGPORT).",
  }),
  v({
    name: "PGDATA",
    kind: directory,
    group: "PostgreSQL (official image)",
    default: "/var/lib/postgresql/18/docker",
    doc: "Data directory. Keep it below the /var/lib/postgresql volume; CA_DIR, SSL_CERT_DIR and POSTGRES_INITDB_WALDIR must be outside it.",
  }),

  // --- what this container is ---
  v({
    name: "PG_MODE",
    kind: oneOf("primary", "replica"),
    group: "Mode",
    default: "primary",
    doc: "primary: read-write server that backs itself up. replica: hot standby cloned from PRIMARY_HOST that streams over verified TLS and takes no backups until `postgres-ba promote`.",
  }),
  v({
    name: "RESTORE_FROM_BACKUP",
    kind: bool,
    group: "Mode",
    default: "false",
    doc: "When PGDATA is empty: restore from the repository (latest backup and all archived WAL unless a RESTORE_TARGET_* is set), then run as a primary on the same stanza. A valid PGDATA is never overwritten.",
  }),

  // --- restore ---
  v({ name: "RESTORE_TARGET_TIME", kind: timestampTz, group: "Restore", doc: "Point in time to recover to. The newest backup that ended before it is used." }),
  v({
    name: "RESTORE_TARGET_LSN",
    kind: pattern(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/, "an LSN such as 0/3000060"),
    group: "Restore",
    doc: "WAL position to recover to. The newest backup that ended before it is used.",
  }),
  v({ name: "RESTORE_TARGET_XID", kind: xid, group: "Restore", doc: "Transaction id to recover to (set RESTORE_SET when it precedes the latest backup)." }),
  v({
    name: "RESTORE_TARGET_NAME",
    kind: restorePointName,
    group: "Restore",
    doc: "Named restore point to recover to (set RESTORE_SET when it precedes the latest backup).",
  }),
  v({
    name: "RESTORE_TARGET_IMMEDIATE",
    kind: bool,
    group: "Restore",
    default: "false",
    doc: "Stop recovery as soon as the backup is consistent (no WAL replayed past its end).",
  }),
  v({
    name: "RESTORE_TARGET_ACTION",
    kind: oneOf("promote", "pause", "shutdown"),
    group: "Restore",
    default: "promote",
    doc: "What the server does at the target. promote: writable primary. pause (pgBackRest's own default) leaves it read-only until pg_wal_replay_resume().",
  }),
  v({
    name: "RESTORE_SET",
    kind: pattern(/^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/, "a backup label such as 20261125-025952F"),
    group: "Restore",
    doc: "Restore this backup instead of choosing one.",
  }),
  v({
    name: "RESTORE_REPO_TARGET_TIME",
    kind: timestampTz,
    group: "Restore",
    doc: "For a bucket with S3 versioning: read the repository as it was at this time (pgBackRest repo-target-time), to restore from backups that were expired, overwritten or deleted after it. Used by the restore only; backups write to the repository as it is.",
  }),
  v({
    name: "RESTORE_REPO",
    kind: int(1, 2),
    group: "Restore",
    doc: "With two repositories (REPO2_TYPE): restore from repository 1 (REPO_TYPE's) or 2 (REPO2_TYPE's). Unset: the newest backup fitting the target, from whichever repository holds it. Required with RESTORE_REPO_TARGET_TIME when there are two.",
  }),
  v({
    name: "RESTORE_DELTA",
    kind: bool,
    group: "Restore",
    default: "false",
    doc: "Explicit opt-in: with RESTORE_FROM_BACKUP=true, repair an existing PGDATA with a delta restore (only changed files are fetched). Without it an existing database is never touched.",
  }),
  v({
    name: "RESTORE_REQUEST_ID",
    kind: text,
    group: "Restore",
    doc: "Any value you change to ask for another delta repair. A restore request (all RESTORE_* values) acts once per data directory: a restart or crash-restart with the same values starts the existing data and logs why the restore was skipped.",
  }),
  v({
    name: "REPO_READ_ONLY",
    kind: bool,
    group: "Restore",
    default: "false",
    doc: "Use the repository only to restore: no WAL archiving, no backups, no stanza changes. For restore drills and clones that must not write into the original's stanza.",
  }),

  // --- pgBackRest ---
  v({
    name: "PGBACKREST_STANZA",
    kind: pattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "a stanza name of letters, digits, '_', '.', '-'"),
    group: "Backups",
    doc: "Enables backups under this stanza name. Unset: drop-in mode, no backup features (TLS stays on).",
  }),
  v({
    name: "PGBACKREST_PROCESS_MAX",
    kind: int(1, 64),
    group: "Backups",
    default: () => String(Math.min(8, availableParallelism())),
    defaultDoc: "CPU count, at most 8",
    doc: "Parallel processes for backup, restore and async archiving (pgBackRest process-max).",
  }),
  v({
    name: "PGBACKREST_COMPRESS_TYPE",
    kind: oneOf("zst", "lz4", "gz", "bz2", "none"),
    group: "Backups",
    default: "zst",
    doc: "Compression of backups and WAL. zst is about 3x faster than gz at a similar size (README: Behaviour and choices).",
  }),
  v({
    name: "PGBACKREST_COMPRESS_LEVEL",
    kind: int(0, 22),
    group: "Backups",
    // Level 1 of zst was measured against 3 on the same data (full backups of pgbench scale 60,
    // interleaved): no faster here, so pgBackRest's own default stays.
    defaultDoc: "pgBackRest's own (zst 3, gz 6, lz4 1, bz2 9)",
    doc: "Compression level of backups and WAL (pgBackRest compress-level): zst 0-22, gz 0-9, lz4 0-12, bz2 1-9.",
  }),
  v({
    name: "BACKUP_BUNDLE",
    kind: bool,
    group: "Backups",
    default: "true",
    doc: "Bundle small files into larger repository objects (fewer S3 requests); needed for block incremental.",
  }),
  v({
    name: "BACKUP_BLOCK_INCREMENTAL",
    kind: bool,
    group: "Backups",
    default: "true",
    doc: "Block incremental backups: store only changed blocks of a changed file.",
  }),
  v({
    name: "RETENTION_FULL",
    eachRepository: true,
    kind: int(1, 9999999),
    group: "Backups",
    default: "4",
    doc: "Full backups to keep (pgBackRest repo1-retention-full); older ones and their WAL are expired after each backup.",
  }),
  v({
    name: "RETENTION_DIFF",
    eachRepository: true,
    kind: int(1, 9999999),
    group: "Backups",
    default: "4",
    doc: "Differential backups to keep (repo1-retention-diff).",
  }),
  v({
    name: "RETENTION_ARCHIVE",
    eachRepository: true,
    kind: int(1, 9999999),
    group: "Backups",
    doc: "Keep WAL for point-in-time recovery only for this many newest full backups (repo1-retention-archive); unset: as long as the backups themselves.",
  }),
  v({
    name: "ARCHIVE_PUSH_QUEUE_MAX",
    kind: pattern(/^\d+(MB|GB)$/, "a size such as 4GB"),
    group: "Backups",
    doc: "Cap on WAL waiting for S3 (archive-push-queue-max). Past it WAL is DROPPED and reported archived: the database keeps running but point-in-time recovery across that gap is lost. Unset (default): WAL waits in pg_wal until S3 is back.",
  }),
  v({
    name: "STATUS_MAX_BACKUP_AGE",
    kind: int(1, 31_536_000),
    group: "Backups",
    default: "90000",
    doc: "Seconds after which `postgres-ba status` calls the newest backup too old and exits 2 (default 25 h).",
  }),
  v({
    name: "STATUS_MAX_RPO",
    kind: int(1, 31_536_000),
    group: "Backups",
    doc: "Seconds of committed WAL not yet in the repository (the recovery point, measured) after which `postgres-ba status` exits 2. Unset: reported, not checked.",
  }),
  v({
    name: "STATUS_MAX_RTO",
    kind: int(1, 31_536_000),
    group: "Backups",
    doc: "Seconds the last restore drill may take to a queryable server before `postgres-ba status` exits 2 (a failed drill always does). Unset: reported, not checked.",
  }),
  v({
    name: "BACKUP_WEBHOOK_URL",
    kind: httpUrl,
    group: "Backups",
    fileForm: true,
    secret: true,
    doc: "Receives a JSON POST when a backup starts, succeeds or fails and when WAL archiving starts failing or recovers (README: Alerts). Retried beside the backup, never failing it.",
  }),
  v({
    name: "BACKUP_PING_URL",
    kind: httpUrl,
    group: "Backups",
    fileForm: true,
    secret: true,
    doc: "Receives a GET after every successful backup: a dead man's switch (healthchecks.io and the like alert when the pings stop).",
  }),
  v({
    name: "BACKUP_FROM_STANDBY",
    kind: oneOf("off", "prefer", "require"),
    group: "Backups",
    default: "off",
    doc: "Copy a backup's data files from a streaming replica (pgBackRest backup-standby); the primary still sends the backup label and pg_control. Set it on every member; on a primary, BACKUP_STANDBY_HOST names the replica. prefer: back up from the primary when the replica does not answer. require: fail the backup instead. A repository's first full backup may come from the primary either way. A replica serves its files over pgBackRest's TLS server (BACKUP_STANDBY_PORT) to certificates of the cluster CA issued to postgres-ba-pgbackrest (each member issues itself one from CA_DIR's key). README: Backups from a standby.",
  }),
  v({
    name: "BACKUP_STANDBY_HOST",
    kind: pattern(/^[A-Za-z0-9.-]{1,253}$/, "a host name"),
    group: "Backups",
    doc: "With BACKUP_FROM_STANDBY on a primary: the replica to copy from, by the name its certificate carries (its SERVER_NAME). Required then.",
  }),
  v({
    name: "BACKUP_STANDBY_PORT",
    kind: int(1, 65535),
    group: "Backups",
    default: "8432",
    doc: "Port of pgBackRest's TLS server on a replica with BACKUP_FROM_STANDBY (the primary connects to it on BACKUP_STANDBY_HOST).",
  }),
  v({
    name: "REPO_CIPHER_PASS",
    eachRepository: true,
    kind: text,
    group: "Backups",
    fileForm: true,
    secret: true,
    doc: "Encrypts the repository (aes-256-cbc): every backup and WAL file, and the info files. Only a new stanza can be encrypted, and an encrypted one needs it forever: keep it outside the container, the same in every container of the stanza (replicas from backup, clones, restores).",
  }),

  v({
    name: "METRICS_PORT",
    kind: int(1, 65535),
    group: "Backups",
    doc: "Serve Prometheus metrics (backup age and size, archiving state) on this port at /metrics. Unset: off.",
  }),
  v({
    name: "METRICS_ADDRESS",
    kind: pattern(/^[0-9A-Fa-f.:]{2,45}$/, "an IP address such as 0.0.0.0, 127.0.0.1 or ::"),
    group: "Backups",
    default: "0.0.0.0",
    doc: "Address the metrics endpoint binds to (127.0.0.1 keeps it inside the container).",
  }),
  v({
    name: "ARCHIVE_TIMEOUT",
    kind: int(1, 86400),
    group: "Backups",
    default: "60",
    doc: "Seconds after which PostgreSQL switches to a new WAL segment so recent commits are archived (archive_timeout).",
  }),
  v({
    name: "ARCHIVE_ASYNC",
    kind: bool,
    group: "Backups",
    default: "true",
    doc: "Asynchronous WAL archiving with a spool directory outside pg_wal, so a slow S3 does not stall commits.",
  }),

  // --- schedule ---
  v({
    name: "BACKUP_SCHEDULE_FULL",
    kind: cron,
    group: "Schedule",
    default: "0 3 * * 0",
    doc: 'When to take full backups (cron, container time zone); "off" disables.',
  }),
  v({ name: "BACKUP_SCHEDULE_DIFF", kind: cron, group: "Schedule", default: "0 2 * * *", doc: 'When to take differential backups; "off" disables.' }),
  v({
    name: "BACKUP_SCHEDULE_INCR",
    kind: cron,
    group: "Schedule",
    default: "*/30 * * * *",
    doc: 'When to take incremental backups; "off" disables. A leading seconds field is allowed ("*/20 * * * * *").',
  }),

  v({
    name: "RESTORE_DRILL_SCHEDULE",
    kind: cron,
    group: "Schedule",
    default: "off",
    doc: 'When to run the restore drill of `postgres-ba verify --restore` (cron); "off" (default) never. Needs free space beside PGDATA for one restored copy.',
  }),

  // --- the repository ---
  v({
    name: "REPO_TYPE",
    eachRepository: true,
    kind: oneOf(...repositoryTypes),
    group: "Repository",
    default: "s3",
    doc: "Where the repository lives. s3: a bucket (S3_*). azure: a container in an Azure storage account (AZURE_*). gcs: a Google Cloud Storage bucket (GCS_*). posix: a directory (REPO_PATH), such as a mounted volume or an NFS share; keep it on another disk than PGDATA.",
  }),
  v({
    name: "REPO2_TYPE",
    kind: oneOf(...repositoryTypes),
    group: "Repository",
    doc: "A second repository, of this type, beside the first (REPO_TYPE's): WAL goes to both, every backup is taken in both, each keeps its own retention, and with one down the other still receives WAL and backups. Its settings are the repository variables with REPO2_ in front (REPO_ dropped): REPO2_PATH, REPO2_S3_BUCKET, REPO2_S3_ACCESS_KEY_FILE, REPO2_AZURE_CONTAINER, REPO2_RETENTION_FULL, REPO2_CIPHER_PASS, ...; each with the table's default, not the first repository's value. Unset: one repository. README: Two repositories at once.",
  }),
  v({
    name: "REPO_PATH",
    kind: directory,
    group: "Repository",
    repository: "posix",
    places: true,
    doc: "The repository's directory with REPO_TYPE=posix (required then). The container hands it to postgres; it must not be inside PGDATA.",
  }),

  // --- S3 ---
  v({
    name: "S3_BUCKET",
    kind: pattern(/^[a-z0-9][a-z0-9.-]{2,62}$/, "an S3 bucket name (3-63 lowercase letters, digits, '.', '-')"),
    group: "Repository",
    repository: "s3",
    places: true,
    doc: "Bucket holding the repository. Required when PGBACKREST_STANZA is set.",
  }),
  v({
    name: "S3_ACCESS_KEY",
    kind: text,
    group: "Repository",
    repository: "s3",
    places: true,
    fileForm: true,
    secret: true,
    doc: "Access key id. Required when PGBACKREST_STANZA is set and S3_KEY_TYPE=shared. Reaches pgBackRest only through its environment.",
  }),
  v({
    name: "S3_SECRET_KEY",
    kind: text,
    group: "Repository",
    repository: "s3",
    places: true,
    fileForm: true,
    secret: true,
    doc: "Secret access key. Required when PGBACKREST_STANZA is set and S3_KEY_TYPE=shared. Never written to a file or a log.",
  }),
  v({
    name: "S3_KEY_TYPE",
    kind: oneOf("shared", "auto", "web-id"),
    group: "Repository",
    repository: "s3",
    default: "shared",
    doc: "How pgBackRest gets S3 credentials. shared: S3_ACCESS_KEY and S3_SECRET_KEY. auto: the instance's role (EC2 instance profile, ECS task role). web-id: a web identity token (EKS IRSA: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE in the environment). auto and web-id are AWS's; with them the store probe, which signs with static keys, is skipped.",
  }),
  v({
    name: "S3_ENDPOINT",
    kind: storeEndpoint,
    group: "Repository",
    repository: "s3",
    default: "s3.amazonaws.com",
    doc: "S3 endpoint. A port here overrides S3_PORT.",
  }),
  v({
    name: "S3_REGION",
    kind: pattern(/^[a-z0-9-]{1,64}$/, "a region such as us-east-1"),
    group: "Repository",
    repository: "s3",
    default: "us-east-1",
    doc: "S3 region.",
  }),
  v({
    name: "S3_PATH",
    kind: storePath,
    group: "Repository",
    repository: "s3",
    default: "/pgbackrest",
    doc: "Repository path inside the bucket. Use a different path (or stanza) per cluster.",
  }),
  v({
    name: "S3_URI_STYLE",
    kind: oneOf("host", "path"),
    group: "Repository",
    repository: "s3",
    default: "host",
    doc: "host: bucket.endpoint (AWS). path: endpoint/bucket (MinIO and most self-hosted S3).",
  }),
  v({ name: "S3_PORT", kind: int(1, 65535), group: "Repository", repository: "s3", default: "443", doc: "S3 endpoint port (HTTPS)." }),
  v({
    name: "S3_CA_FILE",
    kind: path,
    group: "Repository",
    repository: "s3",
    doc: "CA certificate file that signed the S3 server's certificate (self-hosted S3 with its own CA).",
  }),
  v({
    name: "S3_VERIFY_TLS",
    kind: bool,
    group: "Repository",
    repository: "s3",
    default: "true",
    doc: "Verify the S3 server's certificate. false keeps TLS but accepts any certificate: not for production.",
  }),

  // --- Azure ---
  v({
    name: "AZURE_ACCOUNT",
    kind: pattern(/^[a-z0-9]{3,24}$/, "a storage account name (3-24 lowercase letters and digits)"),
    group: "Repository",
    repository: "azure",
    places: true,
    doc: "Storage account holding the repository with REPO_TYPE=azure (required then).",
  }),
  v({
    name: "AZURE_CONTAINER",
    kind: pattern(/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "a blob container name (3-63 lowercase letters, digits and single hyphens)"),
    group: "Repository",
    repository: "azure",
    places: true,
    doc: "Blob container holding the repository with REPO_TYPE=azure (required then). pgBackRest does not create it: create it first.",
  }),
  v({
    name: "AZURE_KEY",
    kind: text,
    group: "Repository",
    repository: "azure",
    places: true,
    fileForm: true,
    secret: true,
    doc: "The storage account's shared key (AZURE_KEY_TYPE=shared) or a SAS token (sas); required with either. Reaches pgBackRest only through its environment.",
  }),
  v({
    name: "AZURE_KEY_TYPE",
    kind: oneOf("shared", "sas", "auto"),
    group: "Repository",
    repository: "azure",
    default: "shared",
    doc: "How pgBackRest authenticates to Azure. shared: the account key in AZURE_KEY. sas: a shared access signature in AZURE_KEY. auto: the VM's managed identity, from the instance metadata endpoint (no AZURE_KEY).",
  }),
  v({
    name: "AZURE_ENDPOINT",
    kind: storeEndpoint,
    group: "Repository",
    repository: "azure",
    default: "blob.core.windows.net",
    doc: "Blob service endpoint (port 443 unless given here). With AZURE_URI_STYLE=host the account is put in front of it (account.blob.core.windows.net).",
  }),
  v({
    name: "AZURE_URI_STYLE",
    kind: oneOf("host", "path"),
    group: "Repository",
    repository: "azure",
    default: "host",
    doc: "host: account.endpoint (Azure). path: endpoint/account (Azurite and other emulators).",
  }),
  v({
    name: "AZURE_PATH",
    kind: storePath,
    group: "Repository",
    repository: "azure",
    default: "/pgbackrest",
    doc: "Repository path inside the container. Use a different path (or stanza) per cluster.",
  }),
  v({
    name: "AZURE_CA_FILE",
    kind: path,
    group: "Repository",
    repository: "azure",
    doc: "CA certificate file that signed the blob endpoint's certificate (an emulator such as Azurite with its own CA).",
  }),

  // --- Google Cloud Storage ---
  v({
    name: "GCS_BUCKET",
    kind: pattern(/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/, "a GCS bucket name (3-63 lowercase letters, digits, '.', '_', '-')"),
    group: "Repository",
    repository: "gcs",
    places: true,
    doc: "Bucket holding the repository with REPO_TYPE=gcs (required then).",
  }),
  v({
    name: "GCS_KEY",
    kind: text,
    group: "Repository",
    repository: "gcs",
    places: true,
    fileForm: true,
    secret: true,
    // A service account key is JSON as Google hands it out, over several lines (a token is refused them by a rule).
    multiline: true,
    doc: "GCS_KEY_TYPE=service: the service account's JSON key (use GCS_KEY_FILE; the runtime hands pgBackRest a copy only postgres can read). token: an access token. Required with either.",
  }),
  v({
    name: "GCS_KEY_TYPE",
    kind: oneOf("service", "token", "auto"),
    group: "Repository",
    repository: "gcs",
    default: "service",
    doc: "How pgBackRest authenticates to Google Cloud Storage. service: a service account key (GCS_KEY). token: an access token (GCS_KEY). auto: the service account of the VM or pod, from the metadata server (no GCS_KEY).",
  }),
  v({
    name: "GCS_ENDPOINT",
    kind: storeEndpoint,
    group: "Repository",
    repository: "gcs",
    default: "storage.googleapis.com",
    doc: "GCS endpoint (port 443 unless given here).",
  }),
  v({
    name: "GCS_PATH",
    kind: storePath,
    group: "Repository",
    repository: "gcs",
    default: "/pgbackrest",
    doc: "Repository path inside the bucket. Use a different path (or stanza) per cluster.",
  }),

  // --- replication ---
  v({
    name: "PRIMARY_HOST",
    kind: pattern(/^[A-Za-z0-9.-]{1,253}$/, "a host name or IP address"),
    group: "Replication",
    doc: "PG_MODE=replica: the primary to clone and stream from. Required for a replica.",
  }),
  v({ name: "PRIMARY_PORT", kind: int(1, 65535), group: "Replication", default: "5432", doc: "Port of PRIMARY_HOST." }),
  v({
    name: "PRIMARY_WAIT_SECONDS",
    kind: int(0, 86400),
    group: "Replication",
    default: "120",
    doc: "How long a new replica waits for PRIMARY_HOST to accept connections (one attempt and one log line every 2 s) before it gives up.",
  }),
  v({
    name: "REPLICATION_USER",
    kind: pattern(
      /^(?!pg_|postgres$)[a-z_][a-z0-9_]{0,62}$/,
      "a role name of lowercase letters, digits and '_', not postgres and not starting with pg_ (reserved)",
    ),
    group: "Replication",
    default: "replicator",
    doc: "Role replicas connect as: LOGIN REPLICATION, not a superuser, never POSTGRES_USER. A primary creates or updates it at every start when REPLICATION_PASSWORD is set.",
  }),
  v({
    name: "REPLICATION_PASSWORD",
    kind: text,
    group: "Replication",
    fileForm: true,
    secret: true,
    doc: "Password of REPLICATION_USER. Required for a replica; on a primary it enables replication (same value on every member).",
  }),
  v({
    name: "REPLICATION_SSLMODE",
    kind: oneOf("verify-ca", "verify-full"),
    group: "Replication",
    default: "verify-ca",
    doc: "How a replica checks the primary's certificate against CA_DIR/ca.crt. verify-full also checks that the certificate names PRIMARY_HOST.",
  }),
  v({
    name: "REPLICATION_SLOT",
    kind: pattern(/^[a-z0-9_]{1,63}$/, "a slot name of lowercase letters, digits and '_'"),
    group: "Replication",
    defaultDoc: "SERVER_NAME as a slot name (recorded at the first clone)",
    doc: "Physical replication slot this replica creates on the primary and streams through, so the primary keeps the WAL it still needs.",
  }),
  v({
    name: "REPLICA_BOOTSTRAP",
    kind: oneOf("basebackup", "backup"),
    group: "Replication",
    default: "basebackup",
    doc: "How an empty replica gets its data. basebackup: pg_basebackup from the primary. backup: restore the latest backup from the repository as a standby (needs the primary's PGBACKREST_STANZA and repository variables), then stream: no base backup load on the primary.",
  }),
  v({
    name: "MAX_WAL_SENDERS",
    kind: int(1, 262143),
    group: "Replication",
    default: "10",
    doc: "max_wal_senders. With REPLICATION_PASSWORD at least 2: cloning a replica takes two (pg_basebackup's copy and its WAL stream). A replica needs at least its primary's value (PostgreSQL refuses a hot standby otherwise).",
  }),
  v({
    name: "MAX_REPLICATION_SLOTS",
    kind: int(1, 262143),
    group: "Replication",
    default: "10",
    doc: "max_replication_slots: at least one per replica (each streams through its own slot).",
  }),

  // --- TLS ---
  v({
    name: "CA_DIR",
    kind: directory,
    group: "TLS",
    default: "/var/lib/postgresql/ca",
    doc: "Certificate authority (ca.crt, ca.key): generated when absent, shared by a cluster's members.",
  }),
  v({
    name: "SSL_CERT_DIR",
    kind: directory,
    group: "TLS",
    default: "/var/lib/postgresql/ssl",
    doc: "Server certificate (server.crt, server.key, root.crt): generated from the CA when absent, never overwritten.",
  }),
  v({
    name: "SERVER_NAME",
    kind: pattern(/^[A-Za-z0-9.-]{1,253}$/, "a host name"),
    group: "TLS",
    default: () => hostname(),
    defaultDoc: "container host name",
    doc: "Common name and first subject alternative name of a generated server certificate.",
  }),

  // --- high availability (HA_MODE=patroni, the image's ha target) ---
  v({
    name: "HA_MODE",
    kind: oneOf("off", "patroni"),
    group: "High availability",
    default: "off",
    doc: "patroni: Patroni (in the image's `ha` target) runs PostgreSQL, elects a leader through its store (etcd, or the Kubernetes API) and fails over by itself; the runtime keeps TLS, pgBackRest, backups (on the leader only), status and metrics. off: one server, failover by `postgres-ba promote`.",
  }),
  v({
    name: "HA_STORE",
    kind: oneOf("etcd3", "kubernetes"),
    group: "High availability",
    default: (raw) => (!raw("HA_ETCD_HOSTS") && raw("KUBERNETES_SERVICE_HOST") ? "kubernetes" : "etcd3"),
    defaultDoc: "kubernetes in a Kubernetes pod without HA_ETCD_HOSTS, else etcd3",
    doc: "Where Patroni keeps the cluster's state and its leader lock. etcd3: etcd v3 at HA_ETCD_HOSTS. kubernetes: the Kubernetes API, as ConfigMaps in the pod's namespace, with the role as a pod label (role=primary|replica) that services select (deploy/kubernetes).",
  }),
  v({
    name: "HA_ETCD_HOSTS",
    kind: pattern(/^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/, "host:port pairs separated by commas, such as etcd1:2379,etcd2:2379"),
    group: "High availability",
    store: "etcd3",
    doc: "The etcd v3 members Patroni keeps the cluster's state in (required with HA_STORE=etcd3). `postgres-ba etcd` runs one from this image.",
  }),
  v({
    name: "HA_ETCD_PROTOCOL",
    kind: oneOf("https", "http"),
    group: "High availability",
    default: "https",
    store: "etcd3",
    doc: "https: etcd's certificate is checked against CA_DIR/ca.crt and this member signs in with its server certificate (what `postgres-ba etcd` expects). http: a store on a network you trust, without TLS.",
  }),
  v({
    name: "HA_STORE_WAIT_SECONDS",
    kind: int(0, 86400),
    group: "High availability",
    default: "60",
    doc: "How long a member waits at start for its store (an HA_ETCD_HOSTS member, or the Kubernetes API) to accept connections before it exits (68) without touching anything: Patroni can neither lead nor follow without it.",
  }),
  v({
    name: "HA_SCOPE",
    kind: pattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "a cluster name of letters, digits, '_', '.', '-'"),
    group: "High availability",
    default: (raw) => raw("PGBACKREST_STANZA") ?? "postgres",
    defaultDoc: "PGBACKREST_STANZA, else postgres",
    doc: "The cluster's name in the store (Patroni's scope): the same on every member, different for every cluster sharing a store. With HA_STORE=kubernetes also a label value and part of ConfigMap names: lower case.",
  }),
  v({
    name: "HA_MEMBER_NAME",
    kind: pattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "a member name of letters, digits, '_', '.', '-'"),
    group: "High availability",
    default: (raw) => (raw("HA_STORE") === "kubernetes" ? hostname() : raw("SERVER_NAME")),
    defaultDoc: "SERVER_NAME; with HA_STORE=kubernetes the pod's name (its host name)",
    doc: "This member's name in the cluster (Patroni's name); unique within the scope. With HA_STORE=kubernetes it must be the pod's name: Patroni finds and labels its own pod by it.",
  }),
  v({
    name: "HA_ADVERTISE_ADDRESS",
    kind: pattern(/^[A-Za-z0-9.-]{1,253}$/, "a host name or IP address"),
    group: "High availability",
    default: (raw) => raw("SERVER_NAME"),
    defaultDoc: "SERVER_NAME",
    doc: "The name other members reach this one at, for PostgreSQL and Patroni's REST API. A name the server certificate holds: members verify each other's certificates.",
  }),
  v({
    name: "HA_REST_PORT",
    kind: int(1, 65535),
    group: "High availability",
    default: "8008",
    doc: "Port of Patroni's REST API (TLS with the server certificate): role and health checks, switchover.",
  }),
  v({
    name: "HA_REST_PASSWORD",
    kind: text,
    group: "High availability",
    fileForm: true,
    secret: true,
    default: (raw) => raw("REPLICATION_PASSWORD"),
    defaultDoc: "REPLICATION_PASSWORD",
    doc: "Password (user patroni) for the REST API's requests that change something (switchover, restart, reload); the same on every member.",
  }),
  v({
    name: "HA_TTL",
    kind: int(20, 86400),
    group: "High availability",
    default: "30",
    doc: "Seconds a leader's lock lives without renewal before another member may take over (Patroni's ttl). Applies when the cluster is first bootstrapped; later through Patroni's dynamic configuration (patronictl edit-config).",
  }),
  v({
    name: "HA_LOOP_WAIT",
    kind: int(1, 86400),
    group: "High availability",
    default: "10",
    doc: "Seconds between Patroni's checks (loop_wait). HA_LOOP_WAIT + 2 x HA_RETRY_TIMEOUT must not exceed HA_TTL. Applies when the cluster is first bootstrapped; later through Patroni's dynamic configuration (patronictl edit-config)",
  }),
  v({
    name: "HA_RETRY_TIMEOUT",
    kind: int(3, 86400),
    group: "High availability",
    default: "10",
    doc: "Seconds Patroni retries the store and PostgreSQL before it demotes a leader (retry_timeout). Applies when the cluster is first bootstrapped; later through Patroni's dynamic configuration (patronictl edit-config)",
  }),
  v({
    name: "HA_SYNCHRONOUS_MODE",
    kind: oneOf("off", "on", "strict"),
    group: "High availability",
    default: "off",
    doc: "on: a commit returns once a replica has it, and only such a replica may take over (no acknowledged commit lost in a failover). strict: also no commits while no replica is there. off: asynchronous, faster, a failover can lose the last commits. Applies when the cluster is first bootstrapped; later through Patroni's dynamic configuration (patronictl edit-config)",
  }),
  v({
    name: "HA_FAILSAFE_MODE",
    kind: bool,
    group: "High availability",
    default: "true",
    doc: "While the store cannot be reached, the leader keeps serving as long as every other member answers it (Patroni's failsafe_mode); false: it steps down to read-only. Applies when the cluster is first bootstrapped; later through Patroni's dynamic configuration (patronictl edit-config)",
  }),
] as const;

export type EnvTable = typeof envTable;
export type EnvName = EnvTable[number]["name"];
type ValueOf<E> = E extends { kind: Kind<infer T> } ? T : never;
type Entry<N extends EnvName> = Extract<EnvTable[number], { name: N }>;

/** Parsed values; a variable without a value or default is undefined. */
type TableEnv = { [N in EnvName]: ValueOf<Entry<N>> | (Entry<N> extends { default: unknown } ? never : undefined) };

/**
 * The settings, and with REPO2_TYPE the second repository's: the same settings with its REPO2_*
 * values under the first repository's names (S3_BUCKET holds REPO2_S3_BUCKET), so everything that
 * reads one repository reads either.
 */
export type Env = TableEnv & { readonly secondRepository?: TableEnv };

/** First repository names in a text, longest first, for secondRepositoryWording. */
const firstRepositoryNames = new RegExp(
  `\\b(${(envTable as readonly EnvVar[])
    .filter(describesRepository)
    .map((spec) => spec.name)
    .sort((a, b) => b.length - a.length)
    .join("|")})(_FILE)?\\b`,
  "g",
);

/** A line about the second repository, read through the first's names, with its own names: S3_BUCKET becomes REPO2_S3_BUCKET. */
export function secondRepositoryWording(text: string): string {
  return text.replace(firstRepositoryNames, (_, name: string, file = "") => `${secondRepositoryName(name)}${file}`);
}
