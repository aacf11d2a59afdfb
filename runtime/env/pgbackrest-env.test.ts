import { describe, expect, it } from "vitest";
import { pgbackrestChildEnv } from "../render/pgbackrest-conf.js";
import { parseEnv, pgbackrestOptions, type BackupEnv } from "./parse.js";
import { pgbackrestDeprecatedNames, pgbackrestOptions as optionList } from "./pgbackrest-options.js";
import { ConfigError } from "../errors.js";

const backup = { PGBACKREST_STANZA: "main", S3_BUCKET: "backups", S3_ACCESS_KEY: "AKIA", S3_SECRET_KEY: "very-secret-value" };

function errorOf(env: Record<string, string>): ConfigError {
  try {
    parseEnv(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("pgBackRest's option list", () => {
  it("holds the options of pgBackRest's config.yaml, with scopes, indexes and secure flags", () => {
    expect(Object.keys(optionList).length).toBeGreaterThan(190);
    expect(optionList["repo-cipher-pass"]).toMatchObject({ scope: "global", index: "repo", secure: true });
    expect(optionList["pg-path"]).toMatchObject({ scope: "stanza", index: "pg" });
    expect(optionList["archive-timeout"]).toMatchObject({ scope: "global" });
    expect(optionList["target-action"]).toMatchObject({ scope: "command" });
    expect(optionList["repo-cipher-type"].allow).toEqual(["none", "aes-256-cbc"]);
    expect(pgbackrestDeprecatedNames["retention-full"]).toBe("repo?-retention-full");
  });
});

describe("PGBACKREST_* pass-through", () => {
  it("accepts real options: they reach every pgBackRest process through its environment", () => {
    const source = {
      ...backup,
      PGBACKREST_REPO1_CIPHER_TYPE: "aes-256-cbc",
      PGBACKREST_REPO1_CIPHER_PASS: "correct horse",
      PGBACKREST_ARCHIVE_TIMEOUT: "120",
      PGBACKREST_START_FAST: "n",
    };
    const env = parseEnv(source) as BackupEnv;
    expect(pgbackrestOptions(source)).toEqual([
      { variable: "PGBACKREST_ARCHIVE_TIMEOUT", option: "archive-timeout", value: "120", secret: false },
      { variable: "PGBACKREST_REPO1_CIPHER_PASS", option: "repo1-cipher-pass", value: "correct horse", secret: true },
      { variable: "PGBACKREST_REPO1_CIPHER_TYPE", option: "repo1-cipher-type", value: "aes-256-cbc", secret: false },
      { variable: "PGBACKREST_START_FAST", option: "start-fast", value: "n", secret: false },
    ]);
    const child = pgbackrestChildEnv(env, { ...source, PATH: "/usr/bin" });
    expect(child).toMatchObject({
      PGBACKREST_REPO1_CIPHER_TYPE: "aes-256-cbc",
      PGBACKREST_REPO1_CIPHER_PASS: "correct horse",
      PGBACKREST_ARCHIVE_TIMEOUT: "120",
      PGBACKREST_START_FAST: "n",
      PGBACKREST_REPO1_S3_KEY: "AKIA",
      PGBACKREST_REPO1_S3_KEY_SECRET: "very-secret-value",
    });
    // The image's own variables are meant through pgbackrest.conf, not as pgBackRest variables.
    expect(Object.keys(child)).toContain("PGBACKREST_STANZA");
    expect(child.PGBACKREST_STANZA).toBeUndefined();
    expect(child.PATH).toBeUndefined(); // only PGBACKREST_* keys: the rest is inherited as is
    // pgbackrest.conf trims values: the superuser's name travels untrimmed in the environment.
    expect(pgbackrestChildEnv(parseEnv({ ...backup, POSTGRES_USER: " odd name " }) as BackupEnv, {}).PGBACKREST_PG1_USER).toBe(" odd name ");
  });

  it("refuses an option pgBackRest does not have, with the nearest real name", () => {
    const e = errorOf({ ...backup, PGBACKREST_REPO1_CIPHER_TYP: "aes-256-cbc" });
    expect(e.message).toBe(
      'PGBACKREST_REPO1_CIPHER_TYP="aes-256-cbc": repo1-cipher-typ is not a pgBackRest 2.60 option, so pgBackRest would ignore it. Fix: did you mean PGBACKREST_REPO1_CIPHER_TYPE? Otherwise check the name at https://pgbackrest.org/configuration.html, or unset PGBACKREST_REPO1_CIPHER_TYP.',
    );
    expect(errorOf({ ...backup, PGBACKREST_FOO: "1" }).message).toMatch(/^PGBACKREST_FOO="1": foo is not a pgBackRest 2.60 option.*Fix: check the name/);
    expect(errorOf({ ...backup, PGBACKREST_REPO1_CIPHER__TYPE: "x" }).message).toMatch(
      /^PGBACKREST_REPO1_CIPHER__TYPE="x": is not the name of a pgBackRest option/,
    );
  });

  it("refuses options the image owns, naming the image variable to use", () => {
    expect(errorOf({ ...backup, PGBACKREST_REPO1_RETENTION_FULL: "7" }).message).toBe(
      'PGBACKREST_REPO1_RETENTION_FULL="7": repo1-retention-full is set by the image. Fix: use RETENTION_FULL instead, and unset PGBACKREST_REPO1_RETENTION_FULL.',
    );
    expect(errorOf({ ...backup, PGBACKREST_REPO1_PATH: "/x" }).message).toMatch(/Fix: use S3_PATH, AZURE_PATH, GCS_PATH or REPO_PATH instead/);
    expect(errorOf({ ...backup, PGBACKREST_PG1_PATH: "/data" }).message).toMatch(/Fix: use PGDATA instead/);
    expect(errorOf({ ...backup, PGBACKREST_ARCHIVE_ASYNC: "n" }).message).toMatch(/Fix: use ARCHIVE_ASYNC instead/);
    expect(errorOf({ ...backup, PGBACKREST_SPOOL_PATH: "/tmp" }).message).toMatch(/spool-path is set by the image/);
    expect(errorOf({ ...backup, PGBACKREST_REPO1_S3_KEY: "AKIA2" }).message).toMatch(
      /^PGBACKREST_REPO1_S3_KEY=<secret, 5 characters>: .*Fix: use S3_ACCESS_KEY/,
    );
    expect(errorOf({ ...backup, PGBACKREST_TARGET_ACTION: "pause" }).message).toMatch(
      /target-action is a command-line option of pgBackRest.*Fix: use RESTORE_TARGET_ACTION instead/,
    );
    expect(errorOf({ ...backup, PGBACKREST_REPO1_GCS_BUCKET: "c" }).message).toMatch(/applies to repo1-type=gcs/);
    expect(errorOf({ ...backup, PGBACKREST_RETENTION_FULL: "2" }).message).toBe(
      'PGBACKREST_RETENTION_FULL="2": is pgBackRest\'s old name for repo1-retention-full, which the image sets. Fix: use RETENTION_FULL instead, and unset PGBACKREST_RETENTION_FULL.',
    );
    expect(errorOf({ ...backup, PGBACKREST_DB_TIMEOUT: "60", PGBACKREST_REPO1_S3_VERIFY_SSL: "n" }).message).toMatch(
      /^PGBACKREST_REPO1_S3_VERIFY_SSL="n": is pgBackRest's old name for repo1-storage-verify-tls, which the image sets\. Fix: use S3_VERIFY_TLS \(with S3; Azure and GCS repositories always verify\) instead/,
    );
    expect(errorOf({ ...backup, PGBACKREST_HARDLINK: "y" }).message).toMatch(/old name for repo1-hardlink\. Fix: use PGBACKREST_REPO1_HARDLINK instead/);
    expect(errorOf({ ...backup, PGBACKREST_REPORT: "y" }).message).toMatch(/report is internal to pgBackRest/);
    expect(errorOf({ ...backup, PGBACKREST_RECOVERY_OPTION: "recovery_target_inclusive=false" }).message).toMatch(
      /recovery-option is set by the image: the runtime writes the recovery settings/,
    );
    expect(errorOf({ ...backup, PGBACKREST_BACKUP_STANDBY: "prefer" }).message).toMatch(
      /^PGBACKREST_BACKUP_STANDBY="prefer": backup-standby is set by the image: the runtime adds the standby as pg2 on each backup's command line\. Fix: use BACKUP_FROM_STANDBY \(with BACKUP_STANDBY_HOST\) instead, and unset PGBACKREST_BACKUP_STANDBY\.$/,
    );
  });

  it("supports repo1, repo2 with REPO2_TYPE, and pg1 only, and wants the index written", () => {
    expect(errorOf({ ...backup, PGBACKREST_REPO2_CIPHER_TYPE: "aes-256-cbc" }).message).toBe(
      'PGBACKREST_REPO2_CIPHER_TYPE="aes-256-cbc": is an option of a second repository, but REPO2_TYPE is not set, so there is none. Fix: set REPO2_TYPE and the second repository\'s REPO2_* variables, or unset PGBACKREST_REPO2_CIPHER_TYPE.',
    );
    expect(errorOf({ ...backup, PGBACKREST_PG2_DATABASE: "app" }).message).toMatch(/only one PostgreSQL instance \(pg1/);
    expect(errorOf({ ...backup, PGBACKREST_REPO_CIPHER_TYPE: "aes-256-cbc" }).message).toMatch(
      /indexed pgBackRest option \(repo1-cipher-type for the image's repo1\)\. Fix: use PGBACKREST_REPO1_CIPHER_TYPE instead/,
    );
    expect(errorOf({ ...backup, PGBACKREST_REPO_PATH: "/x" }).message).toMatch(
      /^PGBACKREST_REPO_PATH="\/x": repo-path is an indexed pgBackRest option \(repo1-path for the image's repo1\), which the image sets\. Fix: use S3_PATH, AZURE_PATH, GCS_PATH or REPO_PATH instead/,
    );
    expect(pgbackrestOptions({ PGBACKREST_PG1_DATABASE: "app" })).toEqual([
      { variable: "PGBACKREST_PG1_DATABASE", option: "pg1-database", value: "app", secret: false },
    ]);
  });

  it("never prints a secret option's value: only its length", () => {
    const e = errorOf({ ...backup, PGBACKREST_REPO2_CIPHER_PASS: "hunter2-hunter2" });
    expect(e.message).toMatch(/^PGBACKREST_REPO2_CIPHER_PASS=<secret, 15 characters>: is an option of a second repository/);
    expect(e.message).not.toContain("hunter2");
    const token = errorOf({ ...backup, PGBACKREST_REPO1_S3_TOKEN: "tok\nen" });
    expect(token.message).toMatch(/^PGBACKREST_REPO1_S3_TOKEN=<secret, 6 characters>: contains a newline at position 4/);
    expect(pgbackrestOptions({ PGBACKREST_REPO1_S3_SSE_CUSTOMER_KEY: "k" })[0].secret).toBe(true);
  });

  it("means encryption when encryption is asked for: type and passphrase go together", () => {
    expect(errorOf({ ...backup, PGBACKREST_REPO1_CIPHER_TYPE: "aes-256-cbc" }).message).toBe(
      'PGBACKREST_REPO1_CIPHER_TYPE="aes-256-cbc": encrypts the repository, but PGBACKREST_REPO1_CIPHER_PASS is not set. Fix: set PGBACKREST_REPO1_CIPHER_PASS to the passphrase (the same in every container of the stanza), or unset PGBACKREST_REPO1_CIPHER_TYPE.',
    );
    const pass = errorOf({ ...backup, PGBACKREST_REPO1_CIPHER_PASS: "secret-pass" });
    expect(pass.message).toMatch(
      /^PGBACKREST_REPO1_CIPHER_PASS=<secret, 11 characters>: is set, but PGBACKREST_REPO1_CIPHER_TYPE is not set, so the repository would not be encrypted/,
    );
    expect(pass.message).not.toContain("secret-pass");
    expect(errorOf({ ...backup, PGBACKREST_REPO1_CIPHER_TYPE: "aes256", PGBACKREST_REPO1_CIPHER_PASS: "p" }).message).toMatch(
      /^PGBACKREST_REPO1_CIPHER_TYPE="aes256": is not one of pgBackRest's values for repo1-cipher-type\. Fix: set PGBACKREST_REPO1_CIPHER_TYPE to one of none, aes-256-cbc/,
    );
  });

  it("checks values the way pgBackRest reads them from the environment", () => {
    expect(errorOf({ ...backup, PGBACKREST_START_FAST: "true" }).message).toMatch(
      /^PGBACKREST_START_FAST="true": pgBackRest takes boolean options from the environment only as y or n/,
    );
    expect(() => parseEnv({ ...backup, PGBACKREST_ARCHIVE_TIMEOUT: "" })).not.toThrow(); // empty: unset
  });

  it("refuses pgBackRest options in drop-in mode, where pgBackRest never runs", () => {
    expect(errorOf({ PGBACKREST_ARCHIVE_TIMEOUT: "90" }).message).toMatch(
      /^PGBACKREST_ARCHIVE_TIMEOUT="90": is a pgBackRest option, but PGBACKREST_STANZA is not set/,
    );
  });
});

describe("PGBACKREST_* refusals, each line in full", () => {
  // The image's own variables for what it sets, or why the option is not the user's to set.
  it.for([
    ["PGBACKREST_REPO1_TYPE", "repo1-type is set by the image. Fix: use REPO_TYPE instead, and unset PGBACKREST_REPO1_TYPE."],
    ["PGBACKREST_REPO1_PATH", "repo1-path is set by the image. Fix: use S3_PATH, AZURE_PATH, GCS_PATH or REPO_PATH instead, and unset PGBACKREST_REPO1_PATH."],
    ["PGBACKREST_REPO1_S3_BUCKET", "repo1-s3-bucket is set by the image. Fix: use S3_BUCKET instead, and unset PGBACKREST_REPO1_S3_BUCKET."],
    ["PGBACKREST_REPO1_S3_ENDPOINT", "repo1-s3-endpoint is set by the image. Fix: use S3_ENDPOINT instead, and unset PGBACKREST_REPO1_S3_ENDPOINT."],
    [
      "PGBACKREST_REPO1_STORAGE_HOST",
      "repo1-storage-host is set by the image: the image sets the repository's host. Fix: use S3_ENDPOINT, AZURE_ENDPOINT or GCS_ENDPOINT instead, and unset PGBACKREST_REPO1_STORAGE_HOST.",
    ],
    ["PGBACKREST_REPO1_S3_REGION", "repo1-s3-region is set by the image. Fix: use S3_REGION instead, and unset PGBACKREST_REPO1_S3_REGION."],
    ["PGBACKREST_REPO1_S3_URI_STYLE", "repo1-s3-uri-style is set by the image. Fix: use S3_URI_STYLE instead, and unset PGBACKREST_REPO1_S3_URI_STYLE."],
    [
      "PGBACKREST_REPO1_S3_PROCESS_CMD",
      "repo1-s3-process-cmd is set by the image: it applies to repo1-s3-key-type=process, which the image does not offer. Fix: use S3_KEY_TYPE (shared, auto or web-id) instead, and unset PGBACKREST_REPO1_S3_PROCESS_CMD.",
    ],
    [
      "PGBACKREST_REPO_TARGET_TIME",
      "repo-target-time is set by the image: it would make every command, backups too, read the repository as it was then. Fix: use RESTORE_REPO_TARGET_TIME instead, and unset PGBACKREST_REPO_TARGET_TIME.",
    ],
    [
      "PGBACKREST_REPO1_STORAGE_PORT",
      "repo1-storage-port is set by the image. Fix: use S3_PORT, or a port in S3_ENDPOINT, AZURE_ENDPOINT or GCS_ENDPOINT, instead, and unset PGBACKREST_REPO1_STORAGE_PORT.",
    ],
    [
      "PGBACKREST_REPO1_STORAGE_VERIFY_TLS",
      "repo1-storage-verify-tls is set by the image. Fix: use S3_VERIFY_TLS (with S3; Azure and GCS repositories always verify) instead, and unset PGBACKREST_REPO1_STORAGE_VERIFY_TLS.",
    ],
    [
      "PGBACKREST_REPO1_STORAGE_CA_FILE",
      "repo1-storage-ca-file is set by the image. Fix: use S3_CA_FILE or AZURE_CA_FILE instead, and unset PGBACKREST_REPO1_STORAGE_CA_FILE.",
    ],
    [
      "PGBACKREST_REPO1_RETENTION_DIFF",
      "repo1-retention-diff is set by the image. Fix: use RETENTION_DIFF instead, and unset PGBACKREST_REPO1_RETENTION_DIFF.",
    ],
    [
      "PGBACKREST_REPO1_RETENTION_ARCHIVE",
      "repo1-retention-archive is set by the image. Fix: use RETENTION_ARCHIVE instead, and unset PGBACKREST_REPO1_RETENTION_ARCHIVE.",
    ],
    ["PGBACKREST_REPO1_BUNDLE", "repo1-bundle is set by the image. Fix: use BACKUP_BUNDLE instead, and unset PGBACKREST_REPO1_BUNDLE."],
    ["PGBACKREST_REPO1_BLOCK", "repo1-block is set by the image. Fix: use BACKUP_BLOCK_INCREMENTAL instead, and unset PGBACKREST_REPO1_BLOCK."],
    [
      "PGBACKREST_REPO1_HOST",
      "repo1-host is set by the image: the repository of this image is REPO_TYPE's (S3, Azure, GCS or a directory), not a repository host. Fix: unset PGBACKREST_REPO1_HOST.",
    ],
    [
      "PGBACKREST_ARCHIVE_PUSH_QUEUE_MAX",
      "archive-push-queue-max is set by the image. Fix: use ARCHIVE_PUSH_QUEUE_MAX instead, and unset PGBACKREST_ARCHIVE_PUSH_QUEUE_MAX.",
    ],
    [
      "PGBACKREST_COMPRESS",
      "compress is set by the image: it is the old switch of compress-type, which the image sets. Fix: use PGBACKREST_COMPRESS_TYPE (none for no compression) instead, and unset PGBACKREST_COMPRESS.",
    ],
    [
      "PGBACKREST_DELTA",
      "delta is set by the image: a delta restore overwrites PGDATA, which the image does only on explicit request. Fix: use RESTORE_DELTA (with RESTORE_FROM_BACKUP=true) instead, and unset PGBACKREST_DELTA.",
    ],
    [
      "PGBACKREST_SPOOL_PATH",
      "spool-path is set by the image: the image sets it to its own directory (/var/spool/pgbackrest). Fix: unset PGBACKREST_SPOOL_PATH.",
    ],
    ["PGBACKREST_LOG_PATH", "log-path is set by the image: the image sets it to its own directory (/var/log/pgbackrest). Fix: unset PGBACKREST_LOG_PATH."],
    [
      "PGBACKREST_LOCK_PATH",
      "lock-path is set by the image: every pgBackRest process of the container must share one lock directory. Fix: unset PGBACKREST_LOCK_PATH.",
    ],
    [
      "PGBACKREST_LOG_LEVEL_CONSOLE",
      "log-level-console is set by the image: the runtime reads pgBackRest's console output, and archive-push logs into PostgreSQL's log at warn. Fix: unset PGBACKREST_LOG_LEVEL_CONSOLE.",
    ],
    ["PGBACKREST_CMD", "cmd is set by the image: the runtime and archive_command run /usr/bin/pgbackrest. Fix: unset PGBACKREST_CMD."],
    ["PGBACKREST_PG1_PORT", "pg1-port is set by the image. Fix: use POSTGRES_PORT instead, and unset PGBACKREST_PG1_PORT."],
    ["PGBACKREST_PG1_USER", "pg1-user is set by the image. Fix: use POSTGRES_USER instead, and unset PGBACKREST_PG1_USER."],
    [
      "PGBACKREST_PG1_SOCKET_PATH",
      "pg1-socket-path is set by the image: the image sets it to PostgreSQL's socket directory. Fix: unset PGBACKREST_PG1_SOCKET_PATH.",
    ],
    ["PGBACKREST_PG1_HOST", "pg1-host is set by the image: PostgreSQL runs in this container; pgBackRest reaches it locally. Fix: unset PGBACKREST_PG1_HOST."],
    [
      "PGBACKREST_TYPE",
      "type is a command-line option of pgBackRest, which the runtime sets per command. Fix: use RESTORE_TARGET_* for restores, or `postgres-ba backup full|diff|incr` instead, and unset PGBACKREST_TYPE.",
    ],
    [
      "PGBACKREST_TARGET",
      "target is a command-line option of pgBackRest, which the runtime sets per command. Fix: use RESTORE_TARGET_TIME, RESTORE_TARGET_LSN, RESTORE_TARGET_XID or RESTORE_TARGET_NAME instead, and unset PGBACKREST_TARGET.",
    ],
    [
      "PGBACKREST_SET",
      "set is a command-line option of pgBackRest, which the runtime sets per command. Fix: use RESTORE_SET instead, and unset PGBACKREST_SET.",
    ],
    ["PGBACKREST_FORCE", "force is a command-line option of pgBackRest, which the runtime sets per command. Fix: unset PGBACKREST_FORCE."],
  ])("%s is refused with the variable or the reason", ([variable, rest]) => {
    expect(errorOf({ ...backup, [variable]: "x" }).message).toBe(`${variable}="x": ${rest}`);
  });

  it.for<{ name: string; env: Record<string, string>; message: string }>([
    {
      name: "a lower-case name",
      env: { PGBACKREST_lower: "x" },
      message: `PGBACKREST_lower="x": is not the name of a pgBackRest option (PGBACKREST_ then the option's name in upper case, '-' as '_'). Fix: rename it, or unset PGBACKREST_lower.`,
    },
    {
      name: "an unknown name with no near real one",
      env: { PGBACKREST_FOO: "1" },
      message:
        'PGBACKREST_FOO="1": foo is not a pgBackRest 2.60 option, so pgBackRest would ignore it. Fix: check the name at https://pgbackrest.org/configuration.html, or unset PGBACKREST_FOO.',
    },
    {
      name: "a misspelling two edits away",
      env: { PGBACKREST_ARCHIVE_TIMEOT: "1" },
      message:
        'PGBACKREST_ARCHIVE_TIMEOT="1": archive-timeot is not a pgBackRest 2.60 option, so pgBackRest would ignore it. Fix: did you mean PGBACKREST_ARCHIVE_TIMEOUT? Otherwise check the name at https://pgbackrest.org/configuration.html, or unset PGBACKREST_ARCHIVE_TIMEOT.',
    },
    {
      name: "a long name three edits away (a fifth of its length allowed)",
      env: { PGBACKREST_REPO1_STORAGE_VERFY_T: "y" },
      message:
        'PGBACKREST_REPO1_STORAGE_VERFY_T="y": repo1-storage-verfy-t is not a pgBackRest 2.60 option, so pgBackRest would ignore it. Fix: did you mean PGBACKREST_REPO1_STORAGE_VERIFY_TLS? Otherwise check the name at https://pgbackrest.org/configuration.html, or unset PGBACKREST_REPO1_STORAGE_VERFY_T.',
    },
    {
      name: "recovery settings (the runtime writes them on the command line)",
      env: { PGBACKREST_RECOVERY_OPTION: "recovery_target_inclusive=false" },
      message:
        'PGBACKREST_RECOVERY_OPTION="recovery_target_inclusive=false": recovery-option is set by the image: the runtime writes the recovery settings of restores, replicas and drills on the command line, where an environment value would be ignored. Fix: use RESTORE_TARGET_* and RESTORE_TARGET_ACTION instead, and unset PGBACKREST_RECOVERY_OPTION.',
    },
    {
      name: "the S3 secret key (by length)",
      env: { PGBACKREST_REPO1_S3_KEY_SECRET: "abc" },
      message:
        "PGBACKREST_REPO1_S3_KEY_SECRET=<secret, 3 characters>: repo1-s3-key-secret is set by the image: the image passes the S3 keys itself. Fix: use S3_SECRET_KEY (or S3_SECRET_KEY_FILE) instead, and unset PGBACKREST_REPO1_S3_KEY_SECRET.",
    },
    {
      name: "a short name exactly two edits away (the most allowed)",
      env: { PGBACKREST_ARCHIVE_TIMEO: "1" },
      message:
        'PGBACKREST_ARCHIVE_TIMEO="1": archive-timeo is not a pgBackRest 2.60 option, so pgBackRest would ignore it. Fix: did you mean PGBACKREST_ARCHIVE_TIMEOUT? Otherwise check the name at https://pgbackrest.org/configuration.html, or unset PGBACKREST_ARCHIVE_TIMEO.',
    },
    {
      name: "a name with an index in the middle (not an indexed option)",
      env: { PGBACKREST_XREPO1_PATH: "/x" },
      message:
        'PGBACKREST_XREPO1_PATH="/x": xrepo1-path is not a pgBackRest 2.60 option, so pgBackRest would ignore it. Fix: did you mean PGBACKREST_REPO1_PATH? Otherwise check the name at https://pgbackrest.org/configuration.html, or unset PGBACKREST_XREPO1_PATH.',
    },
    {
      name: "a secure option of repo12 (by length)",
      env: { PGBACKREST_REPO12_AZURE_ACCOUNT: "acct" },
      message:
        "PGBACKREST_REPO12_AZURE_ACCOUNT=<secret, 4 characters>: only two repositories (repo1, the one REPO_TYPE places, and repo2, REPO2_TYPE's) are supported. Fix: use PGBACKREST_REPO1_AZURE_ACCOUNT for the option of repo1, or unset PGBACKREST_REPO12_AZURE_ACCOUNT.",
    },
    {
      name: "a shorter name three edits away (too far for a guess)",
      env: { PGBACKREST_REPO1_CIPHR_TY: "y" },
      message:
        'PGBACKREST_REPO1_CIPHR_TY="y": repo1-ciphr-ty is not a pgBackRest 2.60 option, so pgBackRest would ignore it. Fix: check the name at https://pgbackrest.org/configuration.html, or unset PGBACKREST_REPO1_CIPHR_TY.',
    },
    {
      name: "a name near a command-line option only (never suggested)",
      env: { PGBACKREST_FORC: "y" },
      message:
        'PGBACKREST_FORC="y": forc is not a pgBackRest 2.60 option, so pgBackRest would ignore it. Fix: check the name at https://pgbackrest.org/configuration.html, or unset PGBACKREST_FORC.',
    },
    {
      name: "a name near an internal option only (never suggested)",
      env: { PGBACKREST_BETAA: "y" },
      message:
        'PGBACKREST_BETAA="y": betaa is not a pgBackRest 2.60 option, so pgBackRest would ignore it. Fix: check the name at https://pgbackrest.org/configuration.html, or unset PGBACKREST_BETAA.',
    },
    {
      name: "an index on an option that has none",
      env: { PGBACKREST_ARCHIVE1_TIMEOUT: "1" },
      message:
        'PGBACKREST_ARCHIVE1_TIMEOUT="1": archive1-timeout is not a pgBackRest 2.60 option, so pgBackRest would ignore it. Fix: did you mean PGBACKREST_ARCHIVE_TIMEOUT? Otherwise check the name at https://pgbackrest.org/configuration.html, or unset PGBACKREST_ARCHIVE1_TIMEOUT.',
    },
    {
      name: "an old indexed name, index kept",
      env: { PGBACKREST_DB2_PATH: "/x" },
      message: `PGBACKREST_DB2_PATH="/x": is pgBackRest's old name for pg2-path. Fix: use PGBACKREST_PG2_PATH instead (the same rules apply to it), or unset PGBACKREST_DB2_PATH.`,
    },
    {
      name: "an old name without index, for pg1",
      env: { PGBACKREST_DB_PATH: "/x" },
      message: `PGBACKREST_DB_PATH="/x": is pgBackRest's old name for pg1-path, which the image sets. Fix: use PGDATA instead, and unset PGBACKREST_DB_PATH.`,
    },
    {
      name: "an old name of an option the image sets without a variable",
      env: { PGBACKREST_DB_SOCKET_PATH: "/x" },
      message: `PGBACKREST_DB_SOCKET_PATH="/x": is pgBackRest's old name for pg1-socket-path, which the image sets. Fix: unset PGBACKREST_DB_SOCKET_PATH.`,
    },
    {
      name: "the S3 key type (shown as a secret: its name has key in it)",
      env: { PGBACKREST_REPO1_S3_KEY_TYPE: "web-id" },
      message:
        "PGBACKREST_REPO1_S3_KEY_TYPE=<secret, 6 characters>: repo1-s3-key-type is set by the image. Fix: use S3_KEY_TYPE instead, and unset PGBACKREST_REPO1_S3_KEY_TYPE.",
    },
    {
      name: "an indexed option without its index, not the image's",
      env: { PGBACKREST_PG_DATABASE: "x" },
      message: `PGBACKREST_PG_DATABASE="x": pg-database is an indexed pgBackRest option (pg1-database for the image's pg1). Fix: use PGBACKREST_PG1_DATABASE instead (the same rules apply to it), or unset PGBACKREST_PG_DATABASE.`,
    },
    {
      name: "pg12",
      env: { PGBACKREST_PG12_PATH: "/x" },
      message:
        'PGBACKREST_PG12_PATH="/x": only one PostgreSQL instance (pg1, the one in this container) is supported. Fix: use PGBACKREST_PG1_PATH for the option of pg1, or unset PGBACKREST_PG12_PATH.',
    },
    {
      name: "an internal option",
      env: { PGBACKREST_REPORT: "y" },
      message: 'PGBACKREST_REPORT="y": report is internal to pgBackRest. Fix: unset PGBACKREST_REPORT.',
    },
    {
      name: "an Azure option (secure: shown by length only)",
      env: { PGBACKREST_REPO1_AZURE_ACCOUNT: "acct" },
      message:
        "PGBACKREST_REPO1_AZURE_ACCOUNT=<secret, 4 characters>: repo1-azure-account does not apply: it applies to repo1-type=azure, and this container's repository is REPO_TYPE=s3. Fix: unset PGBACKREST_REPO1_AZURE_ACCOUNT.",
    },
    {
      name: "a secure option of repo2",
      env: { PGBACKREST_REPO2_AZURE_ACCOUNT: "acct" },
      message:
        "PGBACKREST_REPO2_AZURE_ACCOUNT=<secret, 4 characters>: is an option of a second repository, but REPO2_TYPE is not set, so there is none. Fix: set REPO2_TYPE and the second repository's REPO2_* variables, or unset PGBACKREST_REPO2_AZURE_ACCOUNT.",
    },
    {
      name: "another type's option of repo2",
      env: { REPO2_TYPE: "posix", REPO2_PATH: "/var/lib/pgbackrest-copy", PGBACKREST_REPO2_AZURE_ACCOUNT: "acct" },
      message:
        "PGBACKREST_REPO2_AZURE_ACCOUNT=<secret, 4 characters>: repo2-azure-account does not apply: it applies to repo2-type=azure, and this container's repository is REPO2_TYPE=posix. Fix: unset PGBACKREST_REPO2_AZURE_ACCOUNT.",
    },
    {
      name: "an option of repo2 the image sets, named by its REPO2_ variable",
      env: { REPO2_TYPE: "s3", REPO2_S3_BUCKET: "copy", PGBACKREST_REPO2_S3_REGION: "eu-west-1" },
      message:
        'PGBACKREST_REPO2_S3_REGION="eu-west-1": repo2-s3-region is set by the image. Fix: use REPO2_S3_REGION instead, and unset PGBACKREST_REPO2_S3_REGION.',
    },
    {
      name: "a GCS option",
      env: { PGBACKREST_REPO1_GCS_BUCKET: "c" },
      message:
        'PGBACKREST_REPO1_GCS_BUCKET="c": repo1-gcs-bucket does not apply: it applies to repo1-type=gcs, and this container\'s repository is REPO_TYPE=s3. Fix: unset PGBACKREST_REPO1_GCS_BUCKET.',
    },
    {
      name: "an SFTP option",
      env: { PGBACKREST_REPO1_SFTP_HOST: "c" },
      message:
        'PGBACKREST_REPO1_SFTP_HOST="c": repo1-sftp-host does not apply: it applies to repo1-type=sftp, and this container\'s repository is REPO_TYPE=s3. Fix: unset PGBACKREST_REPO1_SFTP_HOST.',
    },
    {
      name: "a repository host option",
      env: { PGBACKREST_REPO1_HOST_USER: "c" },
      message:
        'PGBACKREST_REPO1_HOST_USER="c": repo1-host-user does not apply: it applies to a repository host; the repository of this image is REPO_TYPE\'s (S3, Azure, GCS or a directory). Fix: unset PGBACKREST_REPO1_HOST_USER.',
    },
    {
      name: "a remote PostgreSQL host option",
      env: { PGBACKREST_PG1_HOST_USER: "c" },
      message:
        'PGBACKREST_PG1_HOST_USER="c": pg1-host-user does not apply: it applies to a remote PostgreSQL host; PostgreSQL runs in this container. Fix: unset PGBACKREST_PG1_HOST_USER.',
    },
    {
      name: "a TLS server option",
      env: { PGBACKREST_TLS_SERVER_ADDRESS: "c" },
      message: `PGBACKREST_TLS_SERVER_ADDRESS="c": tls-server-address does not apply: it configures pgBackRest's TLS server, which this image does not run. Fix: unset PGBACKREST_TLS_SERVER_ADDRESS.`,
    },
    {
      name: "a tab in a value",
      env: { PGBACKREST_ARCHIVE_TIMEOUT: "1\t0" },
      message:
        'PGBACKREST_ARCHIVE_TIMEOUT="1\\t0": contains a tab at position 2. Fix: remove newlines, tabs and other control characters from PGBACKREST_ARCHIVE_TIMEOUT.',
    },
    {
      name: "a boolean written true",
      env: { PGBACKREST_START_FAST: "true" },
      message: 'PGBACKREST_START_FAST="true": pgBackRest takes boolean options from the environment only as y or n. Fix: set PGBACKREST_START_FAST to y or n.',
    },
    {
      name: "a value pgBackRest does not allow",
      env: { PGBACKREST_LOG_LEVEL_FILE: "loud" },
      message: `PGBACKREST_LOG_LEVEL_FILE="loud": is not one of pgBackRest's values for log-level-file. Fix: set PGBACKREST_LOG_LEVEL_FILE to one of off, error, warn, info, detail, debug, trace.`,
    },
    {
      name: "a passphrase with cipher type none",
      env: { PGBACKREST_REPO1_CIPHER_PASS: "secret-pass", PGBACKREST_REPO1_CIPHER_TYPE: "none" },
      message:
        'PGBACKREST_REPO1_CIPHER_PASS=<secret, 11 characters>: is set, but PGBACKREST_REPO1_CIPHER_TYPE="none", so the repository would not be encrypted. Fix: set PGBACKREST_REPO1_CIPHER_TYPE=aes-256-cbc to encrypt (only possible for a new stanza), or unset PGBACKREST_REPO1_CIPHER_PASS.',
    },
    {
      name: "two bad variables (the first in name order)",
      env: { PGBACKREST_ZZZ: "1", PGBACKREST_AAA: "1" },
      message:
        'PGBACKREST_AAA="1": aaa is not a pgBackRest 2.60 option, so pgBackRest would ignore it. Fix: check the name at https://pgbackrest.org/configuration.html, or unset PGBACKREST_AAA.',
    },
  ])("refuses $name", ({ env, message }) => {
    expect(errorOf({ ...backup, ...env }).message).toBe(message);
  });

  it("accepts booleans written y and n", () => {
    expect(pgbackrestOptions({ PGBACKREST_START_FAST: "y" }).map((o) => o.value)).toEqual(["y"]);
    expect(pgbackrestOptions({ PGBACKREST_START_FAST: "n" }).map((o) => o.value)).toEqual(["n"]);
  });

  it("accepts cipher type none without a passphrase", () => {
    expect(pgbackrestOptions({ PGBACKREST_REPO1_CIPHER_TYPE: "none" })).toEqual([
      { variable: "PGBACKREST_REPO1_CIPHER_TYPE", option: "repo1-cipher-type", value: "none", secret: false },
    ]);
  });
});
