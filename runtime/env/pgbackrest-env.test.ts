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
    expect(errorOf({ ...backup, PGBACKREST_REPO1_PATH: "/x" }).message).toMatch(/Fix: use S3_PATH instead/);
    expect(errorOf({ ...backup, PGBACKREST_PG1_PATH: "/data" }).message).toMatch(/Fix: use PGDATA instead/);
    expect(errorOf({ ...backup, PGBACKREST_ARCHIVE_ASYNC: "n" }).message).toMatch(/Fix: use ARCHIVE_ASYNC instead/);
    expect(errorOf({ ...backup, PGBACKREST_SPOOL_PATH: "/tmp" }).message).toMatch(/spool-path is set by the image/);
    expect(errorOf({ ...backup, PGBACKREST_REPO1_S3_KEY: "AKIA2" }).message).toMatch(
      /^PGBACKREST_REPO1_S3_KEY=<secret, 5 characters>: .*Fix: use S3_ACCESS_KEY/,
    );
    expect(errorOf({ ...backup, PGBACKREST_TARGET_ACTION: "pause" }).message).toMatch(
      /target-action is a command-line option of pgBackRest.*Fix: use RESTORE_TARGET_ACTION instead/,
    );
    expect(errorOf({ ...backup, PGBACKREST_REPO1_AZURE_CONTAINER: "c" }).message).toMatch(/applies to repo1-type=azure/);
    expect(errorOf({ ...backup, PGBACKREST_RETENTION_FULL: "2" }).message).toBe(
      'PGBACKREST_RETENTION_FULL="2": is pgBackRest\'s old name for repo1-retention-full, which the image sets. Fix: use RETENTION_FULL instead, and unset PGBACKREST_RETENTION_FULL.',
    );
    expect(errorOf({ ...backup, PGBACKREST_DB_TIMEOUT: "60", PGBACKREST_REPO1_S3_VERIFY_SSL: "n" }).message).toMatch(
      /^PGBACKREST_REPO1_S3_VERIFY_SSL="n": is pgBackRest's old name for repo1-storage-verify-tls, which the image sets\. Fix: use S3_VERIFY_TLS instead/,
    );
    expect(errorOf({ ...backup, PGBACKREST_HARDLINK: "y" }).message).toMatch(/old name for repo1-hardlink\. Fix: use PGBACKREST_REPO1_HARDLINK instead/);
    expect(errorOf({ ...backup, PGBACKREST_REPORT: "y" }).message).toMatch(/report is internal to pgBackRest/);
    expect(errorOf({ ...backup, PGBACKREST_RECOVERY_OPTION: "recovery_target_inclusive=false" }).message).toMatch(
      /recovery-option is set by the image: the runtime writes the recovery settings/,
    );
    expect(errorOf({ ...backup, PGBACKREST_BACKUP_STANDBY: "prefer" }).message).toMatch(
      /^PGBACKREST_BACKUP_STANDBY="prefer": backup-standby cannot work here: .*Fix: unset PGBACKREST_BACKUP_STANDBY\.$/,
    );
  });

  it("supports repo1 and pg1 only, and wants the index written", () => {
    expect(errorOf({ ...backup, PGBACKREST_REPO2_CIPHER_TYPE: "aes-256-cbc" }).message).toBe(
      'PGBACKREST_REPO2_CIPHER_TYPE="aes-256-cbc": only one repository (repo1, the S3 bucket of S3_BUCKET) is supported. Fix: use PGBACKREST_REPO1_CIPHER_TYPE for the option of repo1, or unset PGBACKREST_REPO2_CIPHER_TYPE.',
    );
    expect(errorOf({ ...backup, PGBACKREST_PG2_DATABASE: "app" }).message).toMatch(/only one PostgreSQL instance \(pg1/);
    expect(errorOf({ ...backup, PGBACKREST_REPO_CIPHER_TYPE: "aes-256-cbc" }).message).toMatch(
      /indexed pgBackRest option \(repo1-cipher-type for the image's repo1\)\. Fix: use PGBACKREST_REPO1_CIPHER_TYPE instead/,
    );
    expect(errorOf({ ...backup, PGBACKREST_REPO_PATH: "/x" }).message).toMatch(
      /^PGBACKREST_REPO_PATH="\/x": repo-path is an indexed pgBackRest option \(repo1-path for the image's repo1\), which the image sets\. Fix: use S3_PATH instead/,
    );
    expect(pgbackrestOptions({ PGBACKREST_PG1_DATABASE: "app" })).toEqual([
      { variable: "PGBACKREST_PG1_DATABASE", option: "pg1-database", value: "app", secret: false },
    ]);
  });

  it("never prints a secret option's value: only its length", () => {
    const e = errorOf({ ...backup, PGBACKREST_REPO2_CIPHER_PASS: "hunter2-hunter2" });
    expect(e.message).toMatch(/^PGBACKREST_REPO2_CIPHER_PASS=<secret, 15 characters>: only one repository/);
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
