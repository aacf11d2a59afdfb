/**
 * pgbackrest.conf (no secrets: it is readable by the postgres group) and the environment that
 * carries the S3 and Azure keys to pgBackRest, which reads PGBACKREST_<OPTION> variables.
 */
import { azureEndpoint, gcsEndpoint, pgbackrestOptions, repositories, s3Endpoint, type BackupEnv, type Repository } from "../env/parse.js";

export const pgbackrestConfPath = "/etc/pgbackrest/pgbackrest.conf";
export const spoolPath = "/var/spool/pgbackrest";
export const logPath = "/var/log/pgbackrest";
/** A repository's GCS service account key, copied from GCS_KEY (or its file) at every start, readable by postgres only. */
export const gcsKeyPath = (index: 1 | 2) => (index === 1 ? "/etc/pgbackrest/gcs-key.json" : `/etc/pgbackrest/gcs-key-repo${index}.json`);

/** pgBackRest's booleans. */
const yn = (b: boolean) => (b ? "y" : "n");

/**
 * One repository's own configuration (it as repo1, nothing else), for pushing WAL to it alone
 * while another repository fails (wal-ahead.ts): pgBackRest's archive-push always pushes to every
 * repository of its configuration, and stops at the first that fails.
 */
export const singleRepositoryConfPath = (index: 1 | 2) => `/etc/pgbackrest/repo${index}-only.conf`;

/** The configuration of pgBackRest's TLS server on a standby (BACKUP_FROM_STANDBY): this PostgreSQL, no repository. */
export const standbyServerConfPath = "/etc/pgbackrest/standby-server.conf";

/**
 * No repository and no keys: the server and the remotes it starts for a primary's backup only
 * read this PostgreSQL's files (the primary names this file as pg2's configuration).
 */
export function renderStandbyServerConf(env: BackupEnv): string {
  return `${[
    "# Managed by postgres-ba: pgBackRest's TLS server for backups from this standby. No repository here.",
    `[global]\nlog-path=${logPath}\nlog-level-file=detail\nlog-level-console=warn`,
    `[${env.PGBACKREST_STANZA}]\npg1-path=${env.PGDATA}\npg1-port=${env.POSTGRES_PORT}\npg1-socket-path=/var/run/postgresql`,
  ].join("\n\n")}\n`;
}

/** pgbackrest.conf with every repository, or with `only` that one, written as repo1. */
export function renderPgbackrestConf(env: BackupEnv, only?: Repository): string {
  const global: Array<[string, string | number | undefined]> = [
    ...(only ? [{ index: 1 as const, settings: only.settings }] : repositories(env)).flatMap(repositorySettings),
    ["archive-push-queue-max", env.ARCHIVE_PUSH_QUEUE_MAX?.replace(/B$/, "")],
    ["compress-type", env.PGBACKREST_COMPRESS_TYPE],
    ["compress-level", env.PGBACKREST_COMPRESS_LEVEL],
    ["process-max", env.PGBACKREST_PROCESS_MAX],
    ["start-fast", "y"],
    ["archive-async", yn(env.ARCHIVE_ASYNC)],
    ["spool-path", spoolPath],
    ["log-path", logPath],
    ["log-level-console", "info"],
    ["log-level-file", "detail"],
  ];
  const stanza: Array<[string, string | number]> = [
    ["pg1-path", env.PGDATA],
    ["pg1-port", env.POSTGRES_PORT],
    // The superuser may not be called postgres (POSTGRES_USER); local socket auth is trust.
    ["pg1-user", env.POSTGRES_USER],
    ["pg1-socket-path", "/var/run/postgresql"],
  ];
  const section = (entries: Array<[string, string | number | undefined]>) =>
    entries
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n");
  return `${[
    "# Managed by postgres-ba: rewritten from environment variables at every start.",
    "# Repository keys are not here: they reach pgBackRest through its environment only.",
    `[global]\n${section(global)}`,
    // archive-push runs for every WAL segment inside PostgreSQL's log: only problems go there
    // (the full detail stays in log-path).
    "[global:archive-push]\nlog-level-console=warn",
    `[${env.PGBACKREST_STANZA}]\n${section(stanza)}`,
  ].join("\n\n")}\n`;
}

/** One repository's options, repo1-* or repo2-*: where it is, its encryption, retention and file layout. */
function repositorySettings({ index, settings: env }: Repository): Array<[string, string | number | undefined]> {
  const entries: Array<[string, string | number | undefined]> = [
    ...repositoryOptions(env),
    // The passphrase reaches pgBackRest only through its environment (pgbackrestChildEnv).
    ["repo1-cipher-type", env.REPO_CIPHER_PASS === undefined ? undefined : "aes-256-cbc"],
    ["repo1-retention-full", env.RETENTION_FULL],
    ["repo1-retention-diff", env.RETENTION_DIFF],
    ["repo1-retention-archive", env.RETENTION_ARCHIVE],
    ["repo1-bundle", yn(env.BACKUP_BUNDLE || env.BACKUP_BLOCK_INCREMENTAL)],
    ["repo1-block", yn(env.BACKUP_BLOCK_INCREMENTAL)],
  ];
  return entries.map(([option, value]) => [option.replace(/^repo1-/, `repo${index}-`), value]);
}

/** Where a repository is: an S3 bucket (endpoint, style, TLS), a blob container, a GCS bucket, or a directory (written as repo1). */
function repositoryOptions(env: BackupEnv): Array<[string, string | number | undefined]> {
  switch (env.REPO_TYPE) {
    case "posix":
      return [
        ["repo1-type", "posix"],
        ["repo1-path", env.REPO_PATH],
      ];
    case "azure": {
      const { host, port } = azureEndpoint(env);
      return [
        ["repo1-type", "azure"],
        ["repo1-path", env.AZURE_PATH],
        ["repo1-azure-account", env.AZURE_ACCOUNT],
        ["repo1-azure-container", env.AZURE_CONTAINER],
        ["repo1-azure-endpoint", host],
        ["repo1-azure-uri-style", env.AZURE_URI_STYLE],
        ["repo1-azure-key-type", env.AZURE_KEY_TYPE === "shared" ? undefined : env.AZURE_KEY_TYPE],
        ["repo1-storage-port", port === 443 ? undefined : port],
        ["repo1-storage-ca-file", env.AZURE_CA_FILE],
      ];
    }
    case "gcs": {
      const { host, port } = gcsEndpoint(env);
      return [
        ["repo1-type", "gcs"],
        ["repo1-path", env.GCS_PATH],
        ["repo1-gcs-bucket", env.GCS_BUCKET],
        // pgBackRest takes a GCS port from the endpoint itself (repo-storage-port is S3's and Azure's).
        ["repo1-gcs-endpoint", port === 443 ? host : `${host}:${port}`],
        ["repo1-gcs-key-type", env.GCS_KEY_TYPE === "service" ? undefined : env.GCS_KEY_TYPE],
      ];
    }
    case "s3": {
      const { host, port } = s3Endpoint(env);
      return [
        ["repo1-type", "s3"],
        ["repo1-path", env.S3_PATH],
        ["repo1-s3-bucket", env.S3_BUCKET],
        ["repo1-s3-endpoint", host],
        ["repo1-s3-region", env.S3_REGION],
        ["repo1-s3-uri-style", env.S3_URI_STYLE],
        ["repo1-s3-key-type", env.S3_KEY_TYPE === "shared" ? undefined : env.S3_KEY_TYPE],
        ["repo1-storage-port", port],
        ["repo1-storage-verify-tls", yn(env.S3_VERIFY_TLS)],
        ["repo1-storage-ca-file", env.S3_CA_FILE],
      ];
    }
  }
}

/**
 * The environment of every process that runs pgBackRest (our commands, and PostgreSQL, whose
 * archive_command does): the S3 keys, which exist nowhere else, and the pgBackRest options the
 * user passed as PGBACKREST_<OPTION> (repo1-cipher-pass, archive-timeout, ...), which parseEnv
 * accepted (it refuses the others at startup). The image's own PGBACKREST_STANZA,
 * PGBACKREST_PROCESS_MAX, PGBACKREST_COMPRESS_TYPE and PGBACKREST_COMPRESS_LEVEL do not reach pgBackRest as variables:
 * pgbackrest.conf carries what they mean. Keys mapped to undefined are removed from the
 * inherited environment.
 */
export function pgbackrestChildEnv(env: BackupEnv, inherited: NodeJS.ProcessEnv, only?: Repository): Record<string, string | undefined> {
  const cleared = withoutPgbackrestVariables(inherited);
  // With `only` (its configuration, as repo1): its own options renamed to repo1's, the other repository's dropped.
  const passed = Object.fromEntries(
    pgbackrestOptions(inherited).flatMap((o) => {
      const index = o.option.match(/^repo(\d+)-/)?.[1];
      if (!only || index === undefined) return [[o.variable, o.value]];
      return index === String(only.index) ? [[o.variable.replace(/^PGBACKREST_REPO\d+_/, "PGBACKREST_REPO1_"), o.value]] : [];
    }),
  );
  return {
    ...cleared,
    ...passed,
    ...Object.assign({}, ...(only ? [repositoryKeys({ index: 1, settings: only.settings }, only.index)] : repositories(env).map((r) => repositoryKeys(r)))),
    // Also in pgbackrest.conf, but pgBackRest trims values there: a POSTGRES_USER with leading
    // or trailing spaces (the official image accepts one) arrives intact only this way.
    PGBACKREST_PG1_USER: env.POSTGRES_USER,
  };
}

/** Every PGBACKREST_* variable of `inherited` mapped to undefined: removed from a child's environment (see exec.ts mergeEnv). */
export function withoutPgbackrestVariables(inherited: NodeJS.ProcessEnv): Record<string, undefined> {
  return Object.fromEntries(
    Object.keys(inherited)
      .filter((k) => k.startsWith("PGBACKREST_"))
      .map((k) => [k, undefined]),
  );
}

/** One repository's keys and passphrase, as PGBACKREST_REPO<n>_* variables; `keyFile` names its GCS key file when it is written as another index. */
function repositoryKeys({ index, settings: env }: Repository, keyFile: 1 | 2 = index): Record<string, string | undefined> {
  const name = (option: string) => `PGBACKREST_REPO${index}_${option}`;
  return {
    // Static keys only with S3_KEY_TYPE=shared, the Azure key only with its repository (the rules refuse them otherwise).
    [name("S3_KEY")]: env.S3_ACCESS_KEY,
    [name("S3_KEY_SECRET")]: env.S3_SECRET_KEY,
    ...(env.AZURE_KEY === undefined ? {} : { [name("AZURE_KEY")]: env.AZURE_KEY }),
    // A service account key is read from a file (gcsKeyPath, written at start); a token is the value itself.
    ...(env.GCS_KEY === undefined ? {} : { [name("GCS_KEY")]: env.GCS_KEY_TYPE === "service" ? gcsKeyPath(keyFile) : env.GCS_KEY }),
    ...(env.REPO_CIPHER_PASS === undefined ? {} : { [name("CIPHER_PASS")]: env.REPO_CIPHER_PASS }),
  };
}
