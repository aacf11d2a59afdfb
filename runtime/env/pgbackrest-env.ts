/**
 * PGBACKREST_* variables beyond the image's own three: each is either passed to pgBackRest as
 * the option it names (pgBackRest reads PGBACKREST_<OPTION> itself, and the environment beats
 * pgbackrest.conf) or refused at startup with one line. Nothing is dropped silently.
 *
 * The option name is the rest of the variable's name in lower case with "_" as "-"
 * (PGBACKREST_REPO1_CIPHER_TYPE is repo1-cipher-type), checked against pgBackRest's own list
 * (pgbackrest-options.ts). Refused: options that are not pgBackRest's, command-line and internal
 * options, indexes other than repo1 and pg1, old names, and the options this image sets itself
 * from its own variables (the fix names the variable).
 */
import { controlCharacter, type RawEnv } from "./raw.js";
import { pgbackrestDeprecatedNames, pgbackrestOptions, pgbackrestVersion, type PgbackrestOption } from "./pgbackrest-options.js";
import { secondRepositoryWording } from "./table.js";
import { ConfigError } from "../errors.js";

export const pgbackrestPrefix = "PGBACKREST_";

/** An option passed to pgBackRest through its environment. */
export interface PassedOption {
  readonly variable: string;
  /** pgBackRest's name, index included: repo1-cipher-type. */
  readonly option: string;
  readonly value: string;
  /** Never printed: the name contains pass, key, secret or token, or pgBackRest marks it secure. */
  readonly secret: boolean;
}

/**
 * Options the image owns: it writes them into pgbackrest.conf (renderPgbackrestConf) or on the
 * command line from its own variables, or they would point pgBackRest at something other than
 * this container's S3 repository and PostgreSQL. Keys without an index apply to repo1/pg1.
 * `use` names the image variable that sets it instead.
 */
const owned: Readonly<Record<string, { use?: string; why?: string }>> = {
  "repo1-type": { use: "REPO_TYPE" },
  "repo1-path": { use: "S3_PATH, AZURE_PATH, GCS_PATH or REPO_PATH" },
  "repo1-s3-bucket": { use: "S3_BUCKET" },
  "repo1-s3-endpoint": { use: "S3_ENDPOINT" },
  "repo1-storage-host": { use: "S3_ENDPOINT, AZURE_ENDPOINT or GCS_ENDPOINT", why: "the image sets the repository's host" },
  "repo1-s3-region": { use: "S3_REGION" },
  "repo1-s3-uri-style": { use: "S3_URI_STYLE" },
  "repo1-s3-key": { use: "S3_ACCESS_KEY (or S3_ACCESS_KEY_FILE)", why: "the image passes the S3 keys itself" },
  "repo1-s3-key-secret": { use: "S3_SECRET_KEY (or S3_SECRET_KEY_FILE)", why: "the image passes the S3 keys itself" },
  "repo1-s3-key-type": { use: "S3_KEY_TYPE" },
  "repo1-s3-process-cmd": { use: "S3_KEY_TYPE (shared, auto or web-id)", why: "it applies to repo1-s3-key-type=process, which the image does not offer" },
  "repo1-storage-port": { use: "S3_PORT, or a port in S3_ENDPOINT, AZURE_ENDPOINT or GCS_ENDPOINT," },
  "repo1-storage-verify-tls": { use: "S3_VERIFY_TLS (with S3; Azure and GCS repositories always verify)" },
  "repo1-storage-ca-file": { use: "S3_CA_FILE or AZURE_CA_FILE" },
  "repo1-azure-account": { use: "AZURE_ACCOUNT" },
  "repo1-azure-container": { use: "AZURE_CONTAINER" },
  "repo1-azure-endpoint": { use: "AZURE_ENDPOINT" },
  "repo1-azure-key": { use: "AZURE_KEY (or AZURE_KEY_FILE)", why: "the image passes the Azure key itself" },
  "repo1-azure-key-type": { use: "AZURE_KEY_TYPE" },
  "repo1-azure-uri-style": { use: "AZURE_URI_STYLE" },
  "repo1-gcs-bucket": { use: "GCS_BUCKET" },
  "repo1-gcs-endpoint": { use: "GCS_ENDPOINT" },
  "repo1-gcs-key": { use: "GCS_KEY (or GCS_KEY_FILE)", why: "the image passes the GCS key itself" },
  "repo1-gcs-key-type": { use: "GCS_KEY_TYPE" },
  "repo1-retention-full": { use: "RETENTION_FULL" },
  "repo1-retention-diff": { use: "RETENTION_DIFF" },
  "repo1-retention-archive": { use: "RETENTION_ARCHIVE" },
  "repo-target-time": { use: "RESTORE_REPO_TARGET_TIME", why: "it would make every command, backups too, read the repository as it was then" },
  "repo1-bundle": { use: "BACKUP_BUNDLE" },
  "repo1-block": { use: "BACKUP_BLOCK_INCREMENTAL" },
  "backup-standby": { use: "BACKUP_FROM_STANDBY (with BACKUP_STANDBY_HOST)", why: "the runtime adds the standby as pg2 on each backup's command line" },
  "repo1-host": { why: "the repository of this image is REPO_TYPE's (S3, Azure, GCS or a directory), not a repository host" },
  "archive-push-queue-max": { use: "ARCHIVE_PUSH_QUEUE_MAX" },
  "archive-async": { use: "ARCHIVE_ASYNC" },
  "compress-type": { use: "PGBACKREST_COMPRESS_TYPE" },
  "compress-level": { use: "PGBACKREST_COMPRESS_LEVEL" },
  compress: { use: "PGBACKREST_COMPRESS_TYPE (none for no compression)", why: "it is the old switch of compress-type, which the image sets" },
  "process-max": { use: "PGBACKREST_PROCESS_MAX" },
  delta: { use: "RESTORE_DELTA (with RESTORE_FROM_BACKUP=true)", why: "a delta restore overwrites PGDATA, which the image does only on explicit request" },
  "spool-path": { why: "the image sets it to its own directory (/var/spool/pgbackrest)" },
  "log-path": { why: "the image sets it to its own directory (/var/log/pgbackrest)" },
  "lock-path": { why: "every pgBackRest process of the container must share one lock directory" },
  "log-level-console": { why: "the runtime reads pgBackRest's console output, and archive-push logs into PostgreSQL's log at warn" },
  cmd: { why: "the runtime and archive_command run /usr/bin/pgbackrest" },
  "pg1-path": { use: "PGDATA" },
  "pg1-port": { use: "POSTGRES_PORT" },
  "pg1-user": { use: "POSTGRES_USER" },
  "pg1-socket-path": { why: "the image sets it to PostgreSQL's socket directory" },
  "pg1-host": { why: "PostgreSQL runs in this container; pgBackRest reaches it locally" },
  "recovery-option": {
    use: "RESTORE_TARGET_* and RESTORE_TARGET_ACTION",
    why: "the runtime writes the recovery settings of restores, replicas and drills on the command line, where an environment value would be ignored",
  },
};

/** Command-line options the runtime sets per command, with the image variable that chooses them. */
const commandLineVariables: Readonly<Record<string, string>> = {
  stanza: "PGBACKREST_STANZA",
  type: "RESTORE_TARGET_* for restores, or `postgres-ba backup full|diff|incr`",
  target: "RESTORE_TARGET_TIME, RESTORE_TARGET_LSN, RESTORE_TARGET_XID or RESTORE_TARGET_NAME",
  "target-action": "RESTORE_TARGET_ACTION",
  set: "RESTORE_SET",
};

/** Options of remote hosts and servers: never valid for this image's repo1 and local pg1. */
function foreign(option: string): string | undefined {
  if (/^repo\d+-host-/.test(option)) return "it applies to a repository host; the repository of this image is REPO_TYPE's (S3, Azure, GCS or a directory)";
  if (/^pg1-host-/.test(option)) return "it applies to a remote PostgreSQL host; PostgreSQL runs in this container";
  if (/^tls-server-/.test(option)) return "it configures pgBackRest's TLS server, which this image does not run";
  return undefined;
}

/** The fix for a name that stands for `current`: the image variable when the image owns it, else the current name. */
function instead(current: string, variable: string): string {
  const own = owned[current];
  if (own) return own.use ? `use ${own.use} instead, and unset ${variable}` : `unset ${variable}`;
  return `use ${envName(current)} instead (the same rules apply to it), or unset ${variable}`;
}

export function isSecretOption(option: string, spec?: PgbackrestOption): boolean {
  return Boolean(spec?.secure) || /pass|key|secret|token/.test(option);
}

function envName(option: string): string {
  return pgbackrestPrefix + option.toUpperCase().replace(/-/g, "_");
}

/** How a value is shown in an error: secrets only by length; control characters escaped. */
function shown(value: string, secret: boolean): string {
  return secret ? `<secret, ${value.length} characters>` : JSON.stringify(value);
}

/** The current name of an old one (db-path: pg1-path, db2-path: pg2-path), or undefined. */
function renamed(key: string): string | undefined {
  for (const [old, current] of Object.entries(pgbackrestDeprecatedNames)) {
    if (!old.includes("?")) {
      if (old === key) return current.replace("?", "1");
      continue;
    }
    const m = key.match(new RegExp(`^${old.replace("?", "(\\d+)")}$`));
    if (m) return current.replace("?", m[1]);
  }
  return undefined;
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

function suggestion(key: string): string | undefined {
  const names = Object.entries(pgbackrestOptions)
    .filter(([, spec]) => !spec.internal && spec.scope !== "command")
    .map(([name, spec]) => (spec.index ? name.replace(/^(repo|pg)-/, "$11-") : name));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const d = distance(key, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 5)) ? best : undefined;
}

/**
 * The PGBACKREST_* variables of `source` that go to pgBackRest, or a ConfigError for the first
 * one that cannot. `imageVariables` are the image's own (PGBACKREST_STANZA, ...): skipped here.
 * Empty values count as unset, as for every variable of the image.
 */
export function pgbackrestPassthrough(source: RawEnv, imageVariables: ReadonlySet<string>): PassedOption[] {
  const passed: PassedOption[] = [];
  // A second repository's options (repo2-*) are checked like the first's, against REPO2_TYPE.
  const repositoryTypes: Record<string, string | undefined> = { "1": source.REPO_TYPE || "s3", "2": source.REPO2_TYPE || undefined };
  for (const variable of Object.keys(source)
    .filter((k) => k.startsWith(pgbackrestPrefix))
    .sort()) {
    const value = source[variable];
    if (!value || imageVariables.has(variable)) continue;
    const key = variable.slice(pgbackrestPrefix.length).toLowerCase().replace(/_/g, "-");
    const secret = isSecretOption(key, pgbackrestOptions[key.replace(/^(repo|pg)\d+-/, "$1-")]);
    const refuse = (problem: string, fix: string): never => {
      throw new ConfigError(`${variable}=${shown(value, secret)}`, problem, fix);
    };
    if (!/^PGBACKREST_[A-Z0-9]+(_[A-Z0-9]+)*$/.test(variable)) {
      refuse("is not the name of a pgBackRest option (PGBACKREST_ then the option's name in upper case, '-' as '_')", `rename it, or unset ${variable}`);
    }

    // repo2-path -> repo-path with index 2; indexed options are only valid with an index.
    const indexed = key.match(/^(repo|pg)(\d+)-(.+)$/);
    const base = indexed ? `${indexed[1]}-${indexed[3]}` : key;
    const spec: PgbackrestOption | undefined = pgbackrestOptions[base]?.index && indexed ? pgbackrestOptions[base] : pgbackrestOptions[key];
    if (!spec || (indexed && !spec.index)) {
      const current = renamed(key);
      if (current) refuse(`is pgBackRest's old name for ${current}${owned[current] ? ", which the image sets" : ""}`, instead(current, variable));
      const near = suggestion(key);
      refuse(
        `${key} is not a pgBackRest ${pgbackrestVersion} option, so pgBackRest would ignore it`,
        `${near ? `did you mean ${envName(near)}? Otherwise ` : ""}check the name at https://pgbackrest.org/configuration.html, or unset ${variable}`,
      );
    }
    const option = spec!.index ? `${spec!.index}${indexed ? indexed[2] : ""}-${indexed ? indexed[3] : key.slice(spec!.index.length + 1)}` : key;
    if (spec!.index && !indexed) {
      const current = `${spec!.index}1-${key.slice(spec!.index.length + 1)}`;
      refuse(
        `${key} is an indexed pgBackRest option (${current} for the image's ${spec!.index}1)${owned[current] ? ", which the image sets" : ""}`,
        instead(current, variable),
      );
    }
    const repository = spec!.index === "repo" && indexed ? indexed[2] : undefined;
    if (spec!.index === "pg" && indexed && indexed[2] !== "1") {
      refuse(
        "only one PostgreSQL instance (pg1, the one in this container) is supported",
        `use ${envName(option.replace(/^pg\d+-/, "pg1-"))} for the option of pg1, or unset ${variable}`,
      );
    }
    if (repository !== undefined && repositoryTypes[repository] === undefined) {
      refuse(
        repository === "2"
          ? "is an option of a second repository, but REPO2_TYPE is not set, so there is none"
          : "only two repositories (repo1, the one REPO_TYPE places, and repo2, REPO2_TYPE's) are supported",
        repository === "2"
          ? `set REPO2_TYPE and the second repository's REPO2_* variables, or unset ${variable}`
          : `use ${envName(option.replace(/^repo\d+-/, "repo1-"))} for the option of repo1, or unset ${variable}`,
      );
    }
    // The image's own options and the rules below are written for repo1; repo2's read the same with REPO2_ names.
    const asFirst = repository === "2" ? option.replace(/^repo2-/, "repo1-") : option;
    const wording = repository === "2" ? secondRepositoryWording : (text: string) => text;
    if (spec!.internal) refuse(`${option} is internal to pgBackRest`, `unset ${variable}`);
    if (spec!.scope === "command") {
      const use = commandLineVariables[option];
      refuse(
        `${option} is a command-line option of pgBackRest, which the runtime sets per command`,
        use ? `use ${use} instead, and unset ${variable}` : `unset ${variable}`,
      );
    }
    // Another type's option (an S3 region with REPO_TYPE=azure, say) would be ignored by pgBackRest.
    const optionType = option.match(/^repo\d+-(s3|azure|gcs|sftp)-/)?.[1];
    if (optionType && repository && optionType !== repositoryTypes[repository]) {
      refuse(
        `${option} does not apply: it applies to repo${repository}-type=${optionType}, and ${wording(`this container's repository is REPO_TYPE=${repositoryTypes[repository]}`)}`,
        `unset ${variable}`,
      );
    }
    const own = owned[asFirst];
    if (own)
      refuse(
        `${option} is set by the image${own.why ? `: ${wording(own.why)}` : ""}`,
        own.use ? `use ${wording(own.use)} instead, and unset ${variable}` : `unset ${variable}`,
      );
    const elsewhere = foreign(option);
    if (elsewhere) refuse(`${option} does not apply: ${wording(elsewhere)}`, `unset ${variable}`);

    const isSecret = isSecretOption(option, spec);
    const control = controlCharacter(value);
    if (control) refuse(`contains ${control}`, `remove newlines, tabs and other control characters from ${variable}`);
    if (spec!.type === "boolean" && value !== "y" && value !== "n") {
      refuse(`pgBackRest takes boolean options from the environment only as y or n`, `set ${variable} to y or n`);
    }
    if (spec!.allow && !spec!.allow.includes(value)) {
      refuse(`is not one of pgBackRest's values for ${option}`, `set ${variable} to one of ${spec!.allow.join(", ")}`);
    }
    passed.push({ variable, option, value, secret: isSecret });
  }

  // Encryption asked for means an encrypted repository: the type and the passphrase go together.
  for (const repo of ["REPO1", "REPO2"]) {
    const cipherType = passed.find((p) => p.variable === `PGBACKREST_${repo}_CIPHER_TYPE`);
    const cipherPass = passed.find((p) => p.variable === `PGBACKREST_${repo}_CIPHER_PASS`);
    if (cipherType && cipherType.value !== "none" && !cipherPass) {
      throw new ConfigError(
        `${cipherType.variable}=${JSON.stringify(cipherType.value)}`,
        `encrypts the repository, but PGBACKREST_${repo}_CIPHER_PASS is not set`,
        `set PGBACKREST_${repo}_CIPHER_PASS to the passphrase (the same in every container of the stanza), or unset PGBACKREST_${repo}_CIPHER_TYPE`,
      );
    }
    if (cipherPass && (!cipherType || cipherType.value === "none")) {
      throw new ConfigError(
        `${cipherPass.variable}=${shown(cipherPass.value, true)}`,
        `is set, but ${cipherType ? `PGBACKREST_${repo}_CIPHER_TYPE="none"` : `PGBACKREST_${repo}_CIPHER_TYPE is not set`}, so the repository would not be encrypted`,
        `set PGBACKREST_${repo}_CIPHER_TYPE=aes-256-cbc to encrypt (only possible for a new stanza), or unset PGBACKREST_${repo}_CIPHER_PASS`,
      );
    }
  }
  return passed;
}
