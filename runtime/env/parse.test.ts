import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseEnv, prereadSecretFiles, repositoryMode, repositoryWritable, repositoryWritesOff, s3Endpoint, unusedRepositoryVariables } from "./parse.js";
import { ConfigError } from "../errors.js";

const backup = { PGBACKREST_STANZA: "main", S3_BUCKET: "backups", S3_ACCESS_KEY: "AKIA", S3_SECRET_KEY: "very-secret-value" };
const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no ${path}`), { code: "ENOENT" });
};

function errorOf(env: Record<string, string>, readFile = noFiles): ConfigError {
  try {
    parseEnv(env, readFile);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("parseEnv", () => {
  it("applies the official image's defaults", () => {
    const env = parseEnv({});
    expect(env.POSTGRES_USER).toBe("postgres");
    expect(env.POSTGRES_DB).toBe("postgres");
    expect(env.PGDATA).toBe("/var/lib/postgresql/18/docker");
    expect(env.POSTGRES_PORT).toBe(5432);
    expect(env.PGBACKREST_STANZA).toBeUndefined();
    expect(env.BACKUP_SCHEDULE_INCR).toBe("*/30 * * * *");
  });

  it("defaults POSTGRES_DB to POSTGRES_USER, as upstream", () => {
    expect(parseEnv({ POSTGRES_USER: "app" }).POSTGRES_DB).toBe("app");
  });

  it("treats an empty value as unset", () => {
    expect(parseEnv({ POSTGRES_USER: "" }).POSTGRES_USER).toBe("postgres");
  });

  it("reads *_FILE secrets without the trailing newline", () => {
    const env = parseEnv({ POSTGRES_PASSWORD_FILE: "/run/secrets/pw", POSTGRES_USER_FILE: "/run/secrets/user" }, (p) =>
      p.endsWith("pw") ? "s3cret\n" : "owner\n\n",
    );
    expect(env.POSTGRES_PASSWORD).toBe("s3cret");
    expect(env.POSTGRES_USER).toBe("owner");
    expect(env.POSTGRES_DB).toBe("owner");
  });

  it("refuses a variable and its *_FILE form together", () => {
    expect(errorOf({ POSTGRES_USER: "a", POSTGRES_USER_FILE: "/f" }).message).toBe(
      'POSTGRES_USER="a" and POSTGRES_USER_FILE="/f": both are set, but they are exclusive. Fix: set only one of them.',
    );
    expect(errorOf({ POSTGRES_PASSWORD_FILE: "/run/secrets/none" }).message).toBe(
      'POSTGRES_PASSWORD_FILE="/run/secrets/none": cannot be read (ENOENT). Fix: mount the secret file at that path or correct POSTGRES_PASSWORD_FILE.',
    );
  });

  it("names the variable, the value, what it accepts and the default in one line", () => {
    const e = errorOf({ RETENTION_FULL: "four" });
    expect(e.message).toBe(
      'RETENTION_FULL="four": expected a whole number 1-9999999. Fix: set RETENTION_FULL to a whole number 1-9999999, or unset it for the default (4).',
    );
    expect(e.message).not.toContain("\n");
  });

  it("never shows a secret's value, only its length", () => {
    const both = errorOf({ ...backup, S3_SECRET_KEY_FILE: "/run/secrets/s3" });
    expect(both.message).toBe(
      'S3_SECRET_KEY=<secret, 17 characters> and S3_SECRET_KEY_FILE="/run/secrets/s3": both are set, but they are exclusive. Fix: set only one of them.',
    );
    const other = errorOf({ ...backup, S3_ENDPOINT: "http://s3.local" });
    expect(other.message).toContain('S3_ENDPOINT="http://s3.local"');
    expect(other.message).not.toContain("very-secret-value");
  });

  it("parses booleans, enums and cron expressions (seconds allowed, off disables)", () => {
    const env = parseEnv({ ...backup, ARCHIVE_ASYNC: "no", S3_URI_STYLE: "path", BACKUP_SCHEDULE_INCR: "*/20 * * * * *", BACKUP_SCHEDULE_FULL: "off" });
    expect(env.ARCHIVE_ASYNC).toBe(false);
    expect(env.S3_URI_STYLE).toBe("path");
    expect(env.BACKUP_SCHEDULE_INCR).toBe("*/20 * * * * *");
    expect(env.BACKUP_SCHEDULE_FULL).toBeNull();
    expect(errorOf({ BACKUP_SCHEDULE_DIFF: "61 * * * *" }).variable).toBe('BACKUP_SCHEDULE_DIFF="61 * * * *"');
  });

  it("requires the bucket and keys once a stanza enables backups", () => {
    expect(errorOf({ PGBACKREST_STANZA: "main" }).variable).toBe("S3_BUCKET");
    expect(errorOf({ PGBACKREST_STANZA: "main", S3_BUCKET: "bkt", S3_ACCESS_KEY: "k" }).variable).toBe("S3_SECRET_KEY");
    expect(() => parseEnv(backup)).not.toThrow();
  });

  it("refuses a bucket without a stanza: backups would silently be off", () => {
    expect(errorOf({ S3_BUCKET: "bkt" }).message).toMatch(/^S3_BUCKET="bkt": is set but PGBACKREST_STANZA is not/);
    expect(errorOf({ ...backup, S3_BUCKET: "b" }).message).toMatch(/^S3_BUCKET="b": expected an S3 bucket name \(3-63/);
  });

  it("refuses restore and replica at once", () => {
    expect(errorOf({ ...backup, PG_MODE: "replica", RESTORE_FROM_BACKUP: "true" }).variable).toBe("RESTORE_FROM_BACKUP=true with PG_MODE=replica");
  });

  it("needs PRIMARY_HOST and REPLICATION_PASSWORD for a replica, and a stanza to bootstrap from a backup", () => {
    expect(errorOf({ PG_MODE: "replica" }).variable).toBe("PRIMARY_HOST");
    expect(errorOf({ PG_MODE: "replica", PRIMARY_HOST: "db" }).variable).toBe("REPLICATION_PASSWORD");
    expect(errorOf({ PG_MODE: "replica", PRIMARY_HOST: "db", REPLICATION_PASSWORD: "x", REPLICA_BOOTSTRAP: "backup" }).variable).toBe(
      "REPLICA_BOOTSTRAP=backup",
    );
    expect(errorOf({ REPLICATION_PASSWORD: "x", REPLICATION_USER: "postgres" }).variable).toBe('REPLICATION_USER="postgres"');
    const env = parseEnv({ PG_MODE: "replica", PRIMARY_HOST: "db", REPLICATION_PASSWORD_FILE: "/run/secrets/r" }, () => "from-file\n");
    expect([env.REPLICATION_PASSWORD, env.REPLICATION_USER, env.REPLICATION_SSLMODE, env.REPLICA_BOOTSTRAP, env.PRIMARY_PORT]).toEqual([
      "from-file",
      "replicator",
      "verify-ca",
      "basebackup",
      5432,
    ]);
  });
});

describe("bad input", () => {
  const line = (env: Record<string, string>) => errorOf(env).message;

  it("refuses control characters in any variable, escaped in a one-line message (secrets by length)", () => {
    expect(line({ POSTGRES_DB: "app\nDROP" })).toBe(
      'POSTGRES_DB="app\\nDROP": contains a newline at position 4. Fix: remove newlines, tabs and other control characters from POSTGRES_DB (or POSTGRES_DB_FILE\'s file), or unset it for the default (POSTGRES_USER).',
    );
    expect(line({ ...backup, S3_REGION: "us-east-1\t" })).toMatch(/^S3_REGION="us-east-1\\t": contains a tab at position 10\./);
    const secret = line({ POSTGRES_PASSWORD: "pw\u001b[2J" });
    expect(secret).toMatch(/^POSTGRES_PASSWORD=<secret, 6 characters>: contains an escape character at position 3\./);
    expect(line({ PGDATA: "/var/lib/postgresql/18/docker\u0085" })).toMatch(/contains the control character U\+0085/);
    // initdb arguments may be written on several lines (YAML block scalars): word separators.
    expect(parseEnv({ POSTGRES_INITDB_ARGS: "--data-checksums\n--locale=C\n" }).POSTGRES_INITDB_ARGS).toBe("--data-checksums\n--locale=C\n");
    expect(line({ POSTGRES_INITDB_ARGS: "--locale=C\u0000" })).toMatch(/^POSTGRES_INITDB_ARGS="--locale=C\\u0000": contains the control character U\+0000/);
    for (const message of [line({ POSTGRES_USER: "a\r\nb" }), secret]) expect(message).not.toMatch(/[\n\r\u001b]/);
  });

  it("takes any POSTGRES_USER and POSTGRES_DB the official image can initialize: 1-63 bytes, spaces, non-ASCII, quotes in the database", () => {
    const env = parseEnv({ POSTGRES_USER: "my odd user's name".replace("'", ""), POSTGRES_DB: `base "de" l'été` });
    expect([env.POSTGRES_USER, env.POSTGRES_DB]).toEqual(["my odd users name", `base "de" l'été`]);
    expect(parseEnv({ POSTGRES_USER: `${"é".repeat(31)}x` }).POSTGRES_USER).toHaveLength(32); // 63 bytes
    expect(line({ POSTGRES_USER: "é".repeat(32) })).toMatch(
      /^POSTGRES_USER="é{32}": is 64 bytes long in UTF-8, but PostgreSQL names hold at most 63 bytes\. Fix: set POSTGRES_USER to a role name of 1-63 bytes/,
    );
  });

  it("refuses ports that collide", () => {
    expect(line({ POSTGRES_PORT: "9187", METRICS_PORT: "9187" })).toBe(
      'METRICS_PORT="9187": is also POSTGRES_PORT: PostgreSQL and the metrics server cannot listen on one port. Fix: choose another METRICS_PORT (e.g. 9187), or unset it to turn metrics off.',
    );
    expect(line({ METRICS_PORT: "0" })).toMatch(/^METRICS_PORT="0": expected a whole number 1-65535/);
  });

  it("refuses data, certificate and WAL directories at /, in system directories or inside PGDATA", () => {
    expect(line({ PGDATA: "/" })).toMatch(/^PGDATA="\/": is the root directory\. Fix: set PGDATA to an absolute directory path, not \/ and not in \/bin/);
    expect(line({ PGDATA: "/usr/local/pgsql/data" })).toMatch(/^PGDATA="\/usr\/local\/pgsql\/data": is inside \/usr, a system directory of the image/);
    expect(line({ CA_DIR: "/etc" })).toMatch(/^CA_DIR="\/etc": is \/etc, a system directory/);
    expect(line({ SSL_CERT_DIR: "/proc/self" })).toMatch(/^SSL_CERT_DIR="\/proc\/self": is inside \/proc/);
    expect(line({ POSTGRES_INITDB_WALDIR: "/var/lib/postgresql/../../etc" })).toMatch(/contains "\." or "\.\." path parts/);
    expect(line({ POSTGRES_INITDB_WALDIR: "/var/lib/postgresql/18/docker/pg_wal" })).toMatch(
      /^POSTGRES_INITDB_WALDIR="\/var\/lib\/postgresql\/18\/docker\/pg_wal": is inside PGDATA .*Fix: set POSTGRES_INITDB_WALDIR to a directory outside PGDATA/,
    );
    expect(line({ SSL_CERT_DIR: "/var/lib/postgresql/18/docker/" })).toMatch(/is PGDATA itself/);
    expect(line({ PGDATA: "/var/lib/postgresql" })).toMatch(
      /^CA_DIR="\/var\/lib\/postgresql\/ca" \(its default\): is inside PGDATA .*Fix: set PGDATA to a directory that does not contain/,
    );
    expect(parseEnv({ PGDATA: "/var/lib/postgresql/data", POSTGRES_INITDB_WALDIR: "/var/lib/postgresql/wal" }).PGDATA).toBe("/var/lib/postgresql/data");
    expect(parseEnv({ S3_CA_FILE: "/etc/ssl/certs/ca.pem" }).S3_CA_FILE).toBe("/etc/ssl/certs/ca.pem"); // a file, not a directory the image writes
  });

  it("refuses replication roles that are reserved", () => {
    expect(line({ REPLICATION_USER: "postgres" })).toMatch(/^REPLICATION_USER="postgres": expected a role name .*not postgres and not starting with pg_/);
    expect(line({ REPLICATION_USER: "pg_monitor" })).toMatch(/^REPLICATION_USER="pg_monitor": expected/);
    expect(line({ POSTGRES_USER: "admin", REPLICATION_USER: "admin" })).toMatch(/^REPLICATION_USER="admin": is the superuser/);
    expect(parseEnv({ POSTGRES_USER: "replicator" }).REPLICATION_USER).toBe("replicator"); // unused without REPLICATION_PASSWORD
  });

  it("refuses host auth methods that cannot work from one pg_hba.conf line", () => {
    expect(line({ POSTGRES_HOST_AUTH_METHOD: "ldap" })).toMatch(
      /^POSTGRES_HOST_AUTH_METHOD="ldap": ldap needs ldapserver .*Fix: set POSTGRES_HOST_AUTH_METHOD to one of scram-sha-256, md5, password, trust, reject/,
    );
    for (const m of ["cert", "gss", "sspi", "ident", "pam", "radius"])
      expect(line({ POSTGRES_HOST_AUTH_METHOD: m })).toMatch(new RegExp(`^POSTGRES_HOST_AUTH_METHOD="${m}": ${m} `));
    expect(line({ POSTGRES_HOST_AUTH_METHOD: "SCRAM" })).toMatch(/expected one of scram-sha-256/);
    expect(parseEnv({ POSTGRES_HOST_AUTH_METHOD: "md5" }).POSTGRES_HOST_AUTH_METHOD).toBe("md5");
  });

  it("refuses restore targets PostgreSQL would reject after the download", () => {
    const restore = { ...backup, RESTORE_FROM_BACKUP: "true" };
    expect(line({ ...restore, RESTORE_TARGET_NAME: "before 'migration'" })).toMatch(/^RESTORE_TARGET_NAME="before 'migration'": contains a single quote/);
    expect(line({ ...restore, RESTORE_TARGET_NAME: "a\\b" })).toMatch(/contains a backslash/);
    expect(line({ ...restore, RESTORE_TARGET_NAME: "n".repeat(64) })).toMatch(/is 64 bytes long/);
    expect(line({ ...restore, RESTORE_TARGET_XID: "18446744073709551616" })).toMatch(/^RESTORE_TARGET_XID="18446744073709551616": is larger than 2\^64-1/);
    expect(line({ ...restore, RESTORE_TARGET_XID: "4294967296" })).toMatch(/names a special transaction id/);
    expect(line({ ...restore, RESTORE_TARGET_XID: "0x10" })).toMatch(/expected a transaction id/);
    expect(parseEnv({ ...restore, RESTORE_TARGET_XID: "4294967299" }).RESTORE_TARGET_XID).toBe("4294967299"); // epoch 1, xid 3
    expect(parseEnv({ ...restore, RESTORE_TARGET_XID: "18446744073709551615" }).RESTORE_TARGET_XID).toBe("18446744073709551615");
    expect(line({ ...restore, RESTORE_TARGET_TIME: "2026-02-30 12:00:00+00" })).toMatch(
      /^RESTORE_TARGET_TIME="2026-02-30 12:00:00\+00": names day 30 of a month that has 28 days/,
    );
    expect(line({ ...restore, RESTORE_TARGET_TIME: "2026-11-25 24:00:00Z" })).toMatch(/is not a time of day/);
    expect(line({ ...restore, RESTORE_TARGET_TIME: "2026-13-01 00:00:00Z" })).toMatch(/has month 13/);
    expect(parseEnv({ ...restore, RESTORE_TARGET_TIME: "2028-02-29T23:59:59.5+05:30" }).RESTORE_TARGET_TIME).toBe("2028-02-29T23:59:59.5+05:30");
  });

  it("refuses a schedule that never fires", () => {
    expect(line({ BACKUP_SCHEDULE_FULL: "0 0 30 2 *" })).toBe(
      'BACKUP_SCHEDULE_FULL="0 0 30 2 *": never fires: no date matches it (such as February 30). Fix: set BACKUP_SCHEDULE_FULL to a cron expression ("m h dom mon dow", optional leading seconds field) or "off", or unset it for the default (0 3 * * 0).',
    );
    expect(parseEnv({ BACKUP_SCHEDULE_FULL: "0 0 29 2 *" }).BACKUP_SCHEDULE_FULL).toBe("0 0 29 2 *"); // leap years
  });

  it("needs two WAL senders once replication is on", () => {
    expect(line({ REPLICATION_PASSWORD: "x", MAX_WAL_SENDERS: "1" })).toMatch(
      /^MAX_WAL_SENDERS="1": is too few for replication: cloning a replica uses two WAL senders/,
    );
    expect(parseEnv({ MAX_WAL_SENDERS: "1" }).MAX_WAL_SENDERS).toBe(1); // no replication: one is enough
  });
});

describe("s3Endpoint", () => {
  it("takes the port from S3_ENDPOINT over S3_PORT", () => {
    expect(s3Endpoint(parseEnv({ ...backup, S3_ENDPOINT: "https://minio.local:9000/" }))).toEqual({ host: "minio.local", port: 9000 });
    expect(s3Endpoint(parseEnv({ ...backup, S3_ENDPOINT: "s3.eu-west-1.amazonaws.com", S3_PORT: "8443" }))).toEqual({
      host: "s3.eu-west-1.amazonaws.com",
      port: 8443,
    });
  });
});

describe("defaults read from outside the table", () => {
  it("PGPORT, PostgreSQL's own variable, moves POSTGRES_PORT; POSTGRES_PORT wins when both are set", () => {
    expect(parseEnv({ PGPORT: "5433", POSTGRES_PASSWORD: "x" }).POSTGRES_PORT).toBe(5433);
    expect(parseEnv({ PGPORT: "5433", POSTGRES_PORT: "6000", POSTGRES_PASSWORD: "x" }).POSTGRES_PORT).toBe(6000);
  });

  it("POSTGRES_USER refuses what initdb cannot create a superuser with, and accepts spaces and non-ASCII", () => {
    expect(() => parseEnv({ POSTGRES_USER: `o'brien` })).toThrow(/POSTGRES_USER=.*contains '/);
    expect(parseEnv({ POSTGRES_USER: "my cool postgres user é" }).POSTGRES_USER).toBe("my cool postgres user é");
  });
});

describe("compression level", () => {
  it("is pgBackRest's own unless set, and the user's within the type's range", () => {
    expect(parseEnv(backup).PGBACKREST_COMPRESS_LEVEL).toBeUndefined();
    expect(parseEnv({ ...backup, PGBACKREST_COMPRESS_TYPE: "none" }).PGBACKREST_COMPRESS_LEVEL).toBeUndefined();
    expect(parseEnv({ ...backup, PGBACKREST_COMPRESS_LEVEL: "22" }).PGBACKREST_COMPRESS_LEVEL).toBe(22);
    expect(parseEnv({ ...backup, PGBACKREST_COMPRESS_TYPE: "bz2", PGBACKREST_COMPRESS_LEVEL: "9" }).PGBACKREST_COMPRESS_LEVEL).toBe(9);
    expect(() => parseEnv({ ...backup, PGBACKREST_COMPRESS_TYPE: "bz2", PGBACKREST_COMPRESS_LEVEL: "0" })).toThrow(/outside bz2's levels \(1-9\)/);
  });
});

describe("repositoryMode", () => {
  it("is off without a stanza, read-only with REPO_READ_ONLY, read-write otherwise", () => {
    expect(repositoryMode(parseEnv({}))).toBe("off");
    expect(repositoryMode(parseEnv({ ...backup, REPO_READ_ONLY: "true" }))).toBe("read-only");
    expect(repositoryMode(parseEnv(backup))).toBe("read-write");
    expect(repositoryWritesOff(parseEnv(backup))).toBeUndefined();
    expect([parseEnv({}), parseEnv({ ...backup, REPO_READ_ONLY: "true" }), parseEnv(backup)].map(repositoryWritable)).toEqual([false, false, true]);
    expect(repositoryWritesOff(parseEnv({}))).toBe("no repository (drop-in mode: PGBACKREST_STANZA is not set)");
    expect(repositoryWritesOff(parseEnv({ ...backup, REPO_READ_ONLY: "true" }))).toBe("REPO_READ_ONLY: the repository is only restored from");
  });
});

describe("rules between variables, each line in full", () => {
  const restore = { ...backup, RESTORE_FROM_BACKUP: "true" };

  it.for<{ name: string; env: Record<string, string>; message: string }>([
    {
      name: "a restore on a replica",
      env: { ...backup, PG_MODE: "replica", RESTORE_FROM_BACKUP: "true" },
      message:
        "RESTORE_FROM_BACKUP=true with PG_MODE=replica: a container either restores a primary from S3 or clones a replica, not both. Fix: unset RESTORE_FROM_BACKUP for a replica, or set PG_MODE=primary to restore.",
    },
    {
      name: "a replica without PRIMARY_HOST",
      env: { PG_MODE: "replica" },
      message:
        "PRIMARY_HOST: is required because PG_MODE=replica: a replica needs a primary to clone and stream from. Fix: set PRIMARY_HOST to the primary's host name (e.g. PRIMARY_HOST=db-primary), or set PG_MODE=primary.",
    },
    {
      name: "a replica without REPLICATION_PASSWORD (naming the host and the role)",
      env: { PG_MODE: "replica", PRIMARY_HOST: "db", REPLICATION_USER: "rep" },
      message:
        "REPLICATION_PASSWORD: is required because PG_MODE=replica: the replica connects to db as rep. Fix: set REPLICATION_PASSWORD (or REPLICATION_PASSWORD_FILE) to the value the primary was started with.",
    },
    {
      name: "a replica bootstrapped from a backup without a stanza",
      env: { PG_MODE: "replica", PRIMARY_HOST: "db", REPLICATION_PASSWORD: "x", REPLICA_BOOTSTRAP: "backup" },
      message:
        "REPLICA_BOOTSTRAP=backup: restores from the primary's repository, but PGBACKREST_STANZA is not set. Fix: set PGBACKREST_STANZA and the repository's variables of the primary, or use REPLICA_BOOTSTRAP=basebackup.",
    },
    {
      name: "REPLICATION_USER set to the superuser",
      env: { POSTGRES_USER: "admin", REPLICATION_USER: "admin" },
      message:
        'REPLICATION_USER="admin": is the superuser; replication uses a role of its own that is not a superuser. Fix: choose another name (default replicator).',
    },
    {
      name: "the default REPLICATION_USER as superuser once replication is on",
      env: { POSTGRES_USER: "replicator", REPLICATION_PASSWORD: "x" },
      message:
        'REPLICATION_USER="replicator": is the superuser; replication uses a role of its own that is not a superuser. Fix: choose another name (default replicator).',
    },
    {
      name: "a webhook without backups",
      env: { BACKUP_WEBHOOK_URL: "https://hooks.example/T0KEN" },
      message:
        "BACKUP_WEBHOOK_URL=<secret, 27 characters>: is set, but PGBACKREST_STANZA is not, so no backup would ever be reported. Fix: set PGBACKREST_STANZA (and the repository's variables) to enable backups, or unset BACKUP_WEBHOOK_URL.",
    },
    {
      name: "a posix repository without its directory",
      env: { PGBACKREST_STANZA: "main", REPO_TYPE: "posix" },
      message:
        'REPO_PATH: is required because PGBACKREST_STANZA="main" enables backups with REPO_TYPE=posix. Fix: set REPO_PATH, or unset PGBACKREST_STANZA for drop-in mode without backups.',
    },
    {
      name: "a posix repository and a bucket at once",
      env: { ...backup, REPO_TYPE: "posix", REPO_PATH: "/var/lib/pgbackrest-repo" },
      message:
        'S3_BUCKET="backups": is set, but REPO_TYPE is posix: it belongs to a repository of REPO_TYPE=s3. Fix: unset S3_BUCKET, or set REPO_TYPE=s3 and unset the variables of the posix repository.',
    },
    {
      name: "an Azure repository without its key",
      env: { PGBACKREST_STANZA: "main", REPO_TYPE: "azure", AZURE_ACCOUNT: "backups01", AZURE_CONTAINER: "pgbackups" },
      message:
        'AZURE_KEY: is required because PGBACKREST_STANZA="main" enables backups with REPO_TYPE=azure. Fix: set AZURE_KEY (or AZURE_KEY_FILE), or unset PGBACKREST_STANZA for drop-in mode without backups.',
    },
    {
      name: "an Azure key with managed-identity credentials",
      env: {
        PGBACKREST_STANZA: "main",
        REPO_TYPE: "azure",
        AZURE_ACCOUNT: "backups01",
        AZURE_CONTAINER: "pgbackups",
        AZURE_KEY_TYPE: "auto",
        AZURE_KEY: "c2VjcmV0",
      },
      message:
        'AZURE_KEY_TYPE="auto" and AZURE_KEY: both are set, but auto credentials come from the VM\'s managed identity (the instance metadata endpoint), not a key. Fix: unset AZURE_KEY, or set AZURE_KEY_TYPE=shared (an account key) or sas (a SAS token).',
    },
    {
      name: "an Azure container for an S3 repository",
      env: { ...backup, AZURE_CONTAINER: "pgbackups" },
      message:
        'AZURE_CONTAINER="pgbackups": is set, but REPO_TYPE is s3: it belongs to a repository of REPO_TYPE=azure. Fix: unset AZURE_CONTAINER, or set REPO_TYPE=azure and unset the variables of the s3 repository.',
    },
    {
      name: "an Azure shared key that is not base64 (a SAS token without AZURE_KEY_TYPE=sas), shown by length",
      env: { PGBACKREST_STANZA: "main", REPO_TYPE: "azure", AZURE_ACCOUNT: "backups01", AZURE_CONTAINER: "pgbackups", AZURE_KEY: "sv=2024-11-04&sig=abc" },
      message:
        "AZURE_KEY=<secret, 21 characters>: is not base64, and a shared account key is (as the portal's Access keys show it). Fix: set AZURE_KEY to the account key as shown, or AZURE_KEY_TYPE=sas for a SAS token.",
    },
    {
      name: "a GCS access token over two lines",
      env: { PGBACKREST_STANZA: "main", REPO_TYPE: "gcs", GCS_BUCKET: "pg-backups", GCS_KEY_TYPE: "token", GCS_KEY: "ya29.a\nb" },
      message:
        "GCS_KEY=<secret, 8 characters>: contains a newline or a tab, which an access token (GCS_KEY_TYPE=token) cannot. Fix: set GCS_KEY to the token alone, or GCS_KEY_TYPE=service for a service account's JSON key.",
    },
    {
      name: "a GCS repository without its key",
      env: { PGBACKREST_STANZA: "main", REPO_TYPE: "gcs", GCS_BUCKET: "pg-backups" },
      message:
        'GCS_KEY: is required because PGBACKREST_STANZA="main" enables backups with REPO_TYPE=gcs. Fix: set GCS_KEY (or GCS_KEY_FILE), or unset PGBACKREST_STANZA for drop-in mode without backups.',
    },
    {
      name: "a GCS key with the VM's own service account",
      env: { PGBACKREST_STANZA: "main", REPO_TYPE: "gcs", GCS_BUCKET: "pg-backups", GCS_KEY_TYPE: "auto", GCS_KEY: "ya29.token" },
      message:
        'GCS_KEY_TYPE="auto" and GCS_KEY: both are set, but auto credentials come from the service account of the VM or pod (the metadata server), not a key. Fix: unset GCS_KEY, or set GCS_KEY_TYPE=service (a service account key) or token (an access token).',
    },
    {
      name: "an Azure container without backups",
      env: { REPO_TYPE: "azure", AZURE_CONTAINER: "pgbackups" },
      message:
        'AZURE_CONTAINER="pgbackups": is set but PGBACKREST_STANZA is not, so no backup would ever be taken. Fix: set PGBACKREST_STANZA (e.g. PGBACKREST_STANZA=main), or unset AZURE_CONTAINER for drop-in mode.',
    },
    {
      name: "a repository directory inside PGDATA",
      env: { PGBACKREST_STANZA: "main", REPO_TYPE: "posix", REPO_PATH: "/var/lib/postgresql/18/docker/repo" },
      message:
        'REPO_PATH="/var/lib/postgresql/18/docker/repo": overlaps PGDATA (/var/lib/postgresql/18/docker): backups would live and die with the data they protect, and restores would write over them. Fix: mount the repository somewhere else, on another disk (e.g. /var/lib/pgbackrest-repo).',
    },
    {
      name: "a repository directory for an S3 repository",
      env: { ...backup, REPO_PATH: "/var/lib/pgbackrest-repo" },
      message:
        'REPO_PATH="/var/lib/pgbackrest-repo": is set, but REPO_TYPE is s3: it belongs to a repository of REPO_TYPE=posix. Fix: unset REPO_PATH, or set REPO_TYPE=posix and unset the variables of the s3 repository.',
    },
    {
      name: "a repository time without a restore",
      env: { ...backup, RESTORE_REPO_TARGET_TIME: "2026-11-20 10:00:00+00" },
      message:
        "RESTORE_REPO_TARGET_TIME: only applies to a restore, but RESTORE_FROM_BACKUP is not true. Fix: set RESTORE_FROM_BACKUP=true, or unset RESTORE_REPO_TARGET_TIME.",
    },
    {
      name: "static keys with instance credentials",
      env: { ...backup, S3_KEY_TYPE: "auto" },
      message:
        'S3_KEY_TYPE="auto" and S3_ACCESS_KEY: both are set, but auto credentials come from the instance\'s role, not static keys. Fix: unset S3_ACCESS_KEY and S3_SECRET_KEY, or set S3_KEY_TYPE=shared.',
    },
    {
      name: "web identity without its token file",
      env: { PGBACKREST_STANZA: "main", S3_BUCKET: "backups", S3_KEY_TYPE: "web-id", AWS_ROLE_ARN: "arn:aws:iam::1:role/backup" },
      message:
        'S3_KEY_TYPE="web-id": needs AWS_WEB_IDENTITY_TOKEN_FILE, which is not set (EKS sets AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE for a service account with an IAM role). Fix: set AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, or use S3_KEY_TYPE=shared with keys.',
    },
    {
      name: "an encryption passphrase without backups",
      env: { REPO_CIPHER_PASS: "correct horse" },
      message:
        "REPO_CIPHER_PASS=<secret, 13 characters>: is set, but PGBACKREST_STANZA is not, so there is no repository to encrypt. Fix: set PGBACKREST_STANZA (and the repository's variables) to enable backups, or unset REPO_CIPHER_PASS.",
    },
    {
      name: "two encryption settings at once",
      env: { ...backup, REPO_CIPHER_PASS: "correct horse", PGBACKREST_REPO1_CIPHER_TYPE: "aes-256-cbc", PGBACKREST_REPO1_CIPHER_PASS: "other" },
      message:
        "REPO_CIPHER_PASS=<secret, 13 characters> and PGBACKREST_REPO1_CIPHER_PASS: both set the repository's encryption, but they are exclusive. Fix: set only REPO_CIPHER_PASS (it implies aes-256-cbc), or only the PGBACKREST_REPO1_CIPHER_* pair.",
    },
    {
      name: "a compression level outside the type's range",
      env: { ...backup, PGBACKREST_COMPRESS_TYPE: "gz", PGBACKREST_COMPRESS_LEVEL: "12" },
      message: 'PGBACKREST_COMPRESS_LEVEL="12": is outside gz\'s levels (0-9). Fix: set PGBACKREST_COMPRESS_LEVEL to 0-9, or unset it for the default.',
    },
    {
      name: "a compression level with no compression",
      env: { ...backup, PGBACKREST_COMPRESS_TYPE: "none", PGBACKREST_COMPRESS_LEVEL: "3" },
      message:
        'PGBACKREST_COMPRESS_LEVEL="3": is set, but PGBACKREST_COMPRESS_TYPE=none compresses nothing. Fix: unset PGBACKREST_COMPRESS_LEVEL, or choose a PGBACKREST_COMPRESS_TYPE.',
    },
    {
      name: "one WAL sender with replication on",
      env: { REPLICATION_PASSWORD: "x", MAX_WAL_SENDERS: "1" },
      message:
        'MAX_WAL_SENDERS="1": is too few for replication: cloning a replica uses two WAL senders (pg_basebackup\'s copy and its WAL stream). Fix: set MAX_WAL_SENDERS to at least 2 (one more per replica beyond the first), or unset it for the default (10).',
    },
    {
      name: "the WAL directory inside PGDATA",
      env: { POSTGRES_INITDB_WALDIR: "/var/lib/postgresql/18/docker/pg_wal" },
      message:
        'POSTGRES_INITDB_WALDIR="/var/lib/postgresql/18/docker/pg_wal": is inside PGDATA ("/var/lib/postgresql/18/docker"), whose contents initdb, clones and restores replace. Fix: set POSTGRES_INITDB_WALDIR to a directory outside PGDATA.',
    },
    {
      name: "the certificate directory as PGDATA",
      env: { SSL_CERT_DIR: "/var/lib/postgresql/18/docker/" },
      message:
        'SSL_CERT_DIR="/var/lib/postgresql/18/docker/": is PGDATA itself ("/var/lib/postgresql/18/docker"), whose contents initdb, clones and restores replace. Fix: set SSL_CERT_DIR to a directory outside PGDATA.',
    },
    {
      name: "a PGDATA that holds the default CA directory",
      env: { PGDATA: "/var/lib/postgresql" },
      message:
        'CA_DIR="/var/lib/postgresql/ca" (its default): is inside PGDATA ("/var/lib/postgresql"), whose contents initdb, clones and restores replace. Fix: set PGDATA to a directory that does not contain /var/lib/postgresql/ca (default /var/lib/postgresql/18/docker).',
    },
    {
      name: "a restore without a stanza",
      env: { RESTORE_FROM_BACKUP: "true" },
      message:
        "RESTORE_FROM_BACKUP=true: restoring needs a repository, but PGBACKREST_STANZA is not set. Fix: set PGBACKREST_STANZA and the repository's variables of the backup to restore.",
    },
    {
      name: "two recovery targets",
      env: { ...restore, RESTORE_TARGET_NAME: "a", RESTORE_TARGET_XID: "5" },
      message: "RESTORE_TARGET_XID and RESTORE_TARGET_NAME: only one recovery target can be set. Fix: keep one of RESTORE_TARGET_XID, RESTORE_TARGET_NAME.",
    },
    {
      name: "three recovery targets, immediate among them",
      env: { ...restore, RESTORE_TARGET_IMMEDIATE: "true", RESTORE_TARGET_TIME: "2026-01-01 00:00:00Z", RESTORE_TARGET_LSN: "0/1" },
      message:
        "RESTORE_TARGET_TIME and RESTORE_TARGET_LSN and RESTORE_TARGET_IMMEDIATE: only one recovery target can be set. Fix: keep one of RESTORE_TARGET_TIME, RESTORE_TARGET_LSN, RESTORE_TARGET_IMMEDIATE.",
    },
    {
      name: "a recovery target without a restore",
      env: { ...backup, RESTORE_TARGET_XID: "5" },
      message:
        "RESTORE_TARGET_XID: only applies to a restore, but RESTORE_FROM_BACKUP is not true. Fix: set RESTORE_FROM_BACKUP=true, or unset RESTORE_TARGET_XID.",
    },
    {
      name: "RESTORE_TARGET_IMMEDIATE=true without a restore",
      env: { ...backup, RESTORE_TARGET_IMMEDIATE: "true" },
      message:
        "RESTORE_TARGET_IMMEDIATE: only applies to a restore, but RESTORE_FROM_BACKUP is not true. Fix: set RESTORE_FROM_BACKUP=true, or unset RESTORE_TARGET_IMMEDIATE.",
    },
    {
      name: "RESTORE_DELTA=true without a restore",
      env: { ...backup, RESTORE_DELTA: "true" },
      message: "RESTORE_DELTA: only applies to a restore, but RESTORE_FROM_BACKUP is not true. Fix: set RESTORE_FROM_BACKUP=true, or unset RESTORE_DELTA.",
    },
    {
      name: "RESTORE_SET without a restore",
      env: { ...backup, RESTORE_SET: "20260101-000000F" },
      message: "RESTORE_SET: only applies to a restore, but RESTORE_FROM_BACKUP is not true. Fix: set RESTORE_FROM_BACKUP=true, or unset RESTORE_SET.",
    },
    {
      name: "a stanza without a bucket",
      env: { PGBACKREST_STANZA: "main" },
      message:
        'S3_BUCKET: is required because PGBACKREST_STANZA="main" enables backups. Fix: set S3_BUCKET, or unset PGBACKREST_STANZA for drop-in mode without backups.',
    },
    {
      name: "a stanza without the access key",
      env: { PGBACKREST_STANZA: "main", S3_BUCKET: "bkt" },
      message:
        'S3_ACCESS_KEY: is required because PGBACKREST_STANZA="main" enables backups. Fix: set S3_ACCESS_KEY (or S3_ACCESS_KEY_FILE), or unset PGBACKREST_STANZA for drop-in mode without backups.',
    },
    {
      name: "a bucket without a stanza",
      env: { S3_BUCKET: "bkt" },
      message:
        'S3_BUCKET="bkt": is set but PGBACKREST_STANZA is not, so no backup would ever be taken. Fix: set PGBACKREST_STANZA (e.g. PGBACKREST_STANZA=main), or unset S3_BUCKET for drop-in mode.',
    },
    {
      name: "a pgBackRest option without a stanza",
      env: { PGBACKREST_ARCHIVE_TIMEOUT: "90" },
      message:
        'PGBACKREST_ARCHIVE_TIMEOUT="90": is a pgBackRest option, but PGBACKREST_STANZA is not set, so pgBackRest never runs. Fix: set PGBACKREST_STANZA (and the repository\'s variables) to enable backups, or unset PGBACKREST_ARCHIVE_TIMEOUT.',
    },
    {
      name: "a secret pgBackRest option without a stanza (by length)",
      env: { PGBACKREST_REPO1_CIPHER_PASS: "secretpw", PGBACKREST_REPO1_CIPHER_TYPE: "aes-256-cbc" },
      message:
        "PGBACKREST_REPO1_CIPHER_PASS=<secret, 8 characters>: is a pgBackRest option, but PGBACKREST_STANZA is not set, so pgBackRest never runs. Fix: set PGBACKREST_STANZA (and the repository's variables) to enable backups, or unset PGBACKREST_REPO1_CIPHER_PASS.",
    },
  ])("refuses $name", ({ env, message }) => {
    expect(errorOf(env).message).toBe(message);
  });

  it("does not hold another type's S3 key type to its rules (S3_KEY_TYPE=web-id without its variables, with REPO_TYPE=azure)", () => {
    const source = {
      PGBACKREST_STANZA: "main",
      REPO_TYPE: "azure",
      AZURE_ACCOUNT: "backups01",
      AZURE_CONTAINER: "pgbackups",
      AZURE_KEY: "c2VjcmV0",
      S3_KEY_TYPE: "web-id",
    };
    expect(unusedRepositoryVariables(parseEnv(source, noFiles), source)).toEqual(["S3_KEY_TYPE"]);
  });

  it("accepts another type's endpoint, region or path left over (reported at start), and ignores empty values", () => {
    const source = {
      PGBACKREST_STANZA: "main",
      REPO_TYPE: "posix",
      REPO_PATH: "/var/lib/pgbackrest-repo",
      S3_REGION: "eu-west-1",
      S3_ENDPOINT: "minio:9000",
      S3_BUCKET: "",
    };
    const env = parseEnv(source, noFiles);
    expect(unusedRepositoryVariables(env, source)).toEqual(["S3_ENDPOINT", "S3_REGION"]);
    expect(unusedRepositoryVariables(env, { ...source, S3_REGION: "", S3_ENDPOINT: "" })).toEqual([]);
  });

  it("refuses an S3 key from a file for an Azure repository, naming the file's variable, not the secret", () => {
    const env = {
      PGBACKREST_STANZA: "main",
      REPO_TYPE: "azure",
      AZURE_ACCOUNT: "backups01",
      AZURE_CONTAINER: "pgbackups",
      AZURE_KEY: "c2VjcmV0",
      S3_SECRET_KEY_FILE: "/run/secrets/s3",
    };
    expect(errorOf(env, () => "do-not-print-me").message).toBe(
      'S3_SECRET_KEY_FILE="/run/secrets/s3": is set, but REPO_TYPE is azure: it belongs to a repository of REPO_TYPE=s3. Fix: unset S3_SECRET_KEY_FILE, or set REPO_TYPE=s3 and unset the variables of the azure repository.',
    );
  });

  it.for<{ name: string; env: Record<string, string> }>([
    { name: "RESTORE_TARGET_IMMEDIATE=false beside another target", env: { ...restore, RESTORE_TARGET_IMMEDIATE: "false", RESTORE_TARGET_XID: "5" } },
    { name: "RESTORE_DELTA=false without a restore", env: { ...backup, RESTORE_DELTA: "false" } },
    { name: "a PGDATA beside the certificate directory, not containing it", env: { PGDATA: "/var/lib/postgresql/ssl-data" } },
    { name: "a METRICS_PORT other than POSTGRES_PORT", env: { METRICS_PORT: "9187" } },
    { name: "two WAL senders with replication on", env: { REPLICATION_PASSWORD: "x", MAX_WAL_SENDERS: "2" } },
    { name: "the lowest level of a compression type", env: { ...backup, PGBACKREST_COMPRESS_TYPE: "bz2", PGBACKREST_COMPRESS_LEVEL: "1" } },
  ])("accepts $name", ({ env }) => {
    expect(() => parseEnv(env, noFiles)).not.toThrow();
  });
});

describe("value errors, each line in full", () => {
  it.for<{ name: string; env: Record<string, string>; message: string }>([
    {
      name: "DEL in a secret",
      env: { POSTGRES_PASSWORD: "a\u007f" },
      message:
        "POSTGRES_PASSWORD=<secret, 2 characters>: contains the control character U+007F at position 2. Fix: remove newlines, tabs and other control characters from POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE's file).",
    },
    {
      name: "a line separator",
      env: { POSTGRES_PASSWORD: "a\u2028" },
      message:
        "POSTGRES_PASSWORD=<secret, 2 characters>: contains the control character U+2028 at position 2. Fix: remove newlines, tabs and other control characters from POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE's file).",
    },
    {
      name: "a tab in a variable without a file form",
      env: { PGDATA: "/data\tx" },
      message:
        'PGDATA="/data\\tx": contains a tab at position 6. Fix: remove newlines, tabs and other control characters from PGDATA, or unset it for the default (/var/lib/postgresql/18/docker).',
    },
    {
      name: "a vertical tab in initdb arguments (not a word separator)",
      env: { POSTGRES_INITDB_ARGS: "a\u000bb" },
      message:
        'POSTGRES_INITDB_ARGS="a\\u000bb": contains the control character U+000B at position 2. Fix: remove newlines, tabs and other control characters from POSTGRES_INITDB_ARGS (or POSTGRES_INITDB_ARGS_FILE\'s file), or unset it for the default (empty).',
    },
    {
      name: "a port that is not a number",
      env: { POSTGRES_PORT: "x" },
      message:
        'POSTGRES_PORT="x": expected a whole number 1-65535. Fix: set POSTGRES_PORT to a whole number 1-65535, or unset it for the default (PGPORT or 5432).',
    },
    {
      name: "a port below the range",
      env: { POSTGRES_PORT: "0" },
      message:
        'POSTGRES_PORT="0": expected a whole number 1-65535. Fix: set POSTGRES_PORT to a whole number 1-65535, or unset it for the default (PGPORT or 5432).',
    },
    {
      name: "a port above the range",
      env: { POSTGRES_PORT: "65536" },
      message:
        'POSTGRES_PORT="65536": expected a whole number 1-65535. Fix: set POSTGRES_PORT to a whole number 1-65535, or unset it for the default (PGPORT or 5432).',
    },
    {
      name: "a relative PGDATA",
      env: { PGDATA: "rel" },
      message:
        'PGDATA="rel": expected an absolute directory path, not / and not in /bin, /boot, /dev, /etc, /lib, /lib64, /proc, /sbin, /sys, /usr. Fix: set PGDATA to an absolute directory path, not / and not in /bin, /boot, /dev, /etc, /lib, /lib64, /proc, /sbin, /sys, /usr, or unset it for the default (/var/lib/postgresql/18/docker).',
    },
    {
      name: "a PGDATA with ..",
      env: { PGDATA: "/srv/x/../y" },
      message:
        'PGDATA="/srv/x/../y": contains "." or ".." path parts. Fix: set PGDATA to an absolute directory path, not / and not in /bin, /boot, /dev, /etc, /lib, /lib64, /proc, /sbin, /sys, /usr, or unset it for the default (/var/lib/postgresql/18/docker).',
    },
    {
      name: "a PGDATA of // (the root)",
      env: { PGDATA: "//" },
      message:
        'PGDATA="//": is the root directory. Fix: set PGDATA to an absolute directory path, not / and not in /bin, /boot, /dev, /etc, /lib, /lib64, /proc, /sbin, /sys, /usr, or unset it for the default (/var/lib/postgresql/18/docker).',
    },
    {
      name: "a boolean that is neither",
      env: { ARCHIVE_ASYNC: "maybe" },
      message: 'ARCHIVE_ASYNC="maybe": expected true or false. Fix: set ARCHIVE_ASYNC to true or false, or unset it for the default (true).',
    },
    {
      name: "a value outside an enumeration",
      env: { S3_URI_STYLE: "virtual" },
      message: 'S3_URI_STYLE="virtual": expected one of host, path. Fix: set S3_URI_STYLE to one of host, path, or unset it for the default (host).',
    },
  ])("refuses $name", ({ env, message }) => {
    expect(errorOf(env).message).toBe(message);
  });
});

describe("secret files", () => {
  it("are read ahead while still root, so a later parse finds them after the file is gone", () => {
    const dir = mkdtempSync(join(tmpdir(), "secrets-"));
    const file = join(dir, "pw");
    writeFileSync(file, "preread\n");
    prereadSecretFiles({ POSTGRES_PASSWORD_FILE: file, POSTGRES_USER_FILE: join(dir, "missing"), PGDATA_FILE: file });
    rmSync(dir, { recursive: true });
    expect(parseEnv({ POSTGRES_PASSWORD_FILE: file }).POSTGRES_PASSWORD).toBe("preread");
    // A file that could not be read ahead is reported by parseEnv, naming the variable.
    expect(() => parseEnv({ POSTGRES_USER_FILE: join(dir, "missing") })).toThrow(/^POSTGRES_USER_FILE=".*missing": cannot be read \(ENOENT\)/);
  });

  it("of the second repository are read ahead too", () => {
    const dir = mkdtempSync(join(tmpdir(), "secrets-"));
    const file = join(dir, "key");
    writeFileSync(file, "second-secret\n");
    const source = { ...backup, REPO2_TYPE: "s3", REPO2_S3_BUCKET: "copy", REPO2_S3_ACCESS_KEY: "a", REPO2_S3_SECRET_KEY_FILE: file };
    prereadSecretFiles(source);
    rmSync(dir, { recursive: true });
    expect(parseEnv(source).secondRepository?.S3_SECRET_KEY).toBe("second-secret");
  });

  it("not read ahead are read when parsed", () => {
    const dir = mkdtempSync(join(tmpdir(), "secrets-"));
    writeFileSync(join(dir, "pw"), "read-now\n");
    expect(parseEnv({ POSTGRES_PASSWORD_FILE: join(dir, "pw") }).POSTGRES_PASSWORD).toBe("read-now");
    rmSync(dir, { recursive: true });
  });

  it("lose only their trailing newlines: a multi-line value keeps the ones inside", () => {
    expect(parseEnv({ POSTGRES_INITDB_ARGS_FILE: "/args" }, () => "--data-checksums\n--locale=C\n\n").POSTGRES_INITDB_ARGS).toBe(
      "--data-checksums\n--locale=C",
    );
  });

  it("are only read for variables that have a file form", () => {
    expect(parseEnv({ PGDATA_FILE: "/x" }, noFiles).PGDATA).toBe("/var/lib/postgresql/18/docker");
  });
});

describe("a second repository (REPO2_TYPE)", () => {
  const copy = { ...backup, REPO2_TYPE: "posix", REPO2_PATH: "/var/lib/pgbackrest-copy" };

  it("reads its REPO2_* values under the first repository's names, with the first's defaults", () => {
    const env = parseEnv({ ...copy, REPO2_RETENTION_FULL: "9", RETENTION_FULL: "2" });
    expect(env.REPO_TYPE).toBe("s3");
    expect(env.RETENTION_FULL).toBe(2);
    expect(env.secondRepository).toMatchObject({ REPO_TYPE: "posix", REPO_PATH: "/var/lib/pgbackrest-copy", RETENTION_FULL: 9, RETENTION_DIFF: 4 });
    expect(env.secondRepository?.S3_BUCKET).toBeUndefined();
    expect(parseEnv(backup).secondRepository).toBeUndefined();
  });

  it("reads its secrets from their own files", () => {
    const env = parseEnv(
      { ...backup, REPO2_TYPE: "s3", REPO2_S3_BUCKET: "copy", REPO2_S3_ACCESS_KEY_FILE: "/run/secrets/a", REPO2_S3_SECRET_KEY: "s2" },
      (p) => (p === "/run/secrets/a" ? "AK2\n" : noFiles(p)),
    );
    expect(env.secondRepository).toMatchObject({ S3_BUCKET: "copy", S3_ACCESS_KEY: "AK2", S3_SECRET_KEY: "s2" });
    expect(env.S3_ACCESS_KEY).toBe("AKIA");
  });

  it.each([
    {
      name: "a setting of it without REPO2_TYPE",
      env: { ...backup, REPO2_PATH: "/var/lib/pgbackrest-copy" },
      message:
        "REPO2_PATH: is set, but REPO2_TYPE is not, so there is no second repository to apply it to. Fix: set REPO2_TYPE (s3, azure, gcs or posix) for a second repository, or unset REPO2_PATH.",
    },
    {
      name: "a name no repository has",
      env: { ...copy, REPO2_BUCKET: "b" },
      message:
        'REPO2_BUCKET="b": is not a setting of a repository, so the second repository has none of that name. Fix: give it the name of a repository variable with REPO2_ in front and REPO_ dropped (REPO2_PATH, REPO2_S3_BUCKET, REPO2_RETENTION_FULL, ...), or unset REPO2_BUCKET.',
    },
    {
      name: "its required variable missing, named as its own",
      env: { ...backup, REPO2_TYPE: "s3", REPO2_S3_BUCKET: "copy" },
      message:
        "REPO2_S3_ACCESS_KEY: is required for the second repository (REPO2_TYPE=s3). Fix: set REPO2_S3_ACCESS_KEY (or REPO2_S3_ACCESS_KEY_FILE), or unset REPO2_TYPE for one repository.",
    },
    {
      name: "the first repository's place",
      env: { ...backup, REPO2_TYPE: "s3", REPO2_S3_BUCKET: "backups", REPO2_S3_ACCESS_KEY: "a", REPO2_S3_SECRET_KEY: "b" },
      message:
        'REPO2_TYPE="s3": places the second repository where the first one is (s3://backups/pgbackrest and s3://backups/pgbackrest): the two would share one stanza, and one place is no second copy. Fix: give the second repository another place (REPO2_S3_BUCKET, REPO2_S3_PATH).',
    },
    {
      name: "a directory inside the first repository's",
      env: { PGBACKREST_STANZA: "main", REPO_TYPE: "posix", REPO_PATH: "/var/lib/r1", REPO2_TYPE: "posix", REPO2_PATH: "/var/lib/r1/copy/" },
      message:
        'REPO2_TYPE="posix": places the second repository where the first one is (/var/lib/r1/copy/ and /var/lib/r1): the two would share one stanza, and one place is no second copy. Fix: give the second repository another place (REPO2_PATH).',
    },
    {
      name: "a misspelt secret, shown by length only",
      env: { ...copy, REPO2_S3_SECRET: "hunter2" },
      message:
        "REPO2_S3_SECRET=<secret, 7 characters>: is not a setting of a repository, so the second repository has none of that name. Fix: give it the name of a repository variable with REPO2_ in front and REPO_ dropped (REPO2_PATH, REPO2_S3_BUCKET, REPO2_RETENTION_FULL, ...), or unset REPO2_S3_SECRET.",
    },
    {
      name: "a versioned-bucket time without the repository it applies to",
      env: { ...copy, RESTORE_FROM_BACKUP: "true", RESTORE_REPO_TARGET_TIME: "2026-12-01 10:00:00+00" },
      message:
        "RESTORE_REPO_TARGET_TIME: reads one versioned bucket as it was, but with two repositories (REPO2_TYPE) it would be applied to both. Fix: set RESTORE_REPO to the repository with versioning (1 or 2).",
    },
    {
      name: "another type's setting that places it",
      env: { ...copy, REPO2_S3_BUCKET: "copy" },
      message:
        'REPO2_S3_BUCKET="copy": is set, but REPO2_TYPE is posix: it belongs to a repository of REPO2_TYPE=s3. Fix: unset REPO2_S3_BUCKET, or set REPO2_TYPE=s3 and unset the variables of the posix repository.',
    },
    {
      name: "its directory inside PGDATA",
      env: { ...copy, REPO2_PATH: "/var/lib/postgresql/18/docker/copy" },
      message:
        'REPO2_PATH="/var/lib/postgresql/18/docker/copy": overlaps PGDATA (/var/lib/postgresql/18/docker): backups would live and die with the data they protect, and restores would write over them. Fix: mount the repository somewhere else, on another disk (e.g. /var/lib/pgbackrest-repo).',
    },
    {
      name: "its passphrase twice",
      env: { ...copy, REPO2_CIPHER_PASS: "p", PGBACKREST_REPO2_CIPHER_TYPE: "aes-256-cbc", PGBACKREST_REPO2_CIPHER_PASS: "p" },
      message:
        "REPO2_CIPHER_PASS=<secret, 1 characters> and PGBACKREST_REPO2_CIPHER_PASS: both set the second repository's encryption, but they are exclusive. Fix: set only REPO2_CIPHER_PASS (it implies aes-256-cbc), or only the PGBACKREST_REPO2_CIPHER_* pair.",
    },
    {
      name: "RESTORE_REPO=2 without it",
      env: { ...backup, RESTORE_FROM_BACKUP: "true", RESTORE_REPO: "2" },
      message:
        'RESTORE_REPO="2": names the second repository, but REPO2_TYPE is not set, so there is none. Fix: set REPO2_TYPE and the second repository\'s REPO2_* variables, or unset RESTORE_REPO.',
    },
    {
      name: "REPO2_TYPE without a stanza",
      env: { REPO2_TYPE: "posix", REPO2_PATH: "/var/lib/pgbackrest-copy" },
      message:
        'REPO2_TYPE="posix": is set but PGBACKREST_STANZA is not, so no backup would ever be taken. Fix: set PGBACKREST_STANZA (and both repositories\' variables), or unset REPO2_TYPE for drop-in mode.',
    },
  ])("refuses $name in one line", ({ env, message }) => {
    expect(errorOf(env as Record<string, string>).message).toBe(message);
  });

  it("takes the same bucket name on another store as another place", () => {
    const env = parseEnv({
      ...backup,
      REPO2_TYPE: "s3",
      REPO2_S3_BUCKET: "backups",
      REPO2_S3_ENDPOINT: "r2.example.com",
      REPO2_S3_ACCESS_KEY: "a",
      REPO2_S3_SECRET_KEY: "b",
    });
    expect(env.secondRepository?.S3_ENDPOINT).toBe("r2.example.com");
  });

  it("names its unused settings with their REPO2_ names", () => {
    const source = { ...copy, REPO2_S3_REGION: "eu-west-1", S3_REGION: "us-east-1" };
    expect(unusedRepositoryVariables(parseEnv(source), source)).toEqual(["REPO2_S3_REGION"]);
  });
});

describe("BACKUP_FROM_STANDBY", () => {
  it.each([
    {
      name: "without a stanza",
      env: { BACKUP_FROM_STANDBY: "prefer" },
      message:
        'BACKUP_FROM_STANDBY="prefer": is set, but PGBACKREST_STANZA is not, so there are no backups to take from a standby. Fix: set PGBACKREST_STANZA and the repository\'s variables, or unset BACKUP_FROM_STANDBY.',
    },
    {
      name: "on a primary without the replica to copy from",
      env: { ...backup, BACKUP_FROM_STANDBY: "require" },
      message:
        "BACKUP_STANDBY_HOST: is required because BACKUP_FROM_STANDBY=require on a primary: it names the replica to copy from. Fix: set BACKUP_STANDBY_HOST to the replica's host name (its SERVER_NAME), or unset BACKUP_FROM_STANDBY.",
    },
    {
      name: "naming the primary itself",
      env: { ...backup, BACKUP_FROM_STANDBY: "prefer", BACKUP_STANDBY_HOST: "db1", SERVER_NAME: "db1" },
      message:
        "BACKUP_STANDBY_HOST=\"db1\": is this primary's own SERVER_NAME: the standby to copy from must be another member. Fix: set BACKUP_STANDBY_HOST to a replica's host name.",
    },
    {
      name: "its port taken by PostgreSQL",
      env: { ...backup, BACKUP_FROM_STANDBY: "prefer", BACKUP_STANDBY_HOST: "replica1", POSTGRES_PORT: "8432" },
      message:
        'BACKUP_STANDBY_PORT="8432" (its default): is also POSTGRES_PORT: pgBackRest\'s TLS server and PostgreSQL cannot listen on one port. Fix: choose another BACKUP_STANDBY_PORT (default 8432).',
    },
    {
      name: "a standby named while it is off",
      env: { ...backup, BACKUP_STANDBY_HOST: "replica1" },
      message:
        'BACKUP_STANDBY_HOST="replica1": is set, but BACKUP_FROM_STANDBY is off. Fix: set BACKUP_FROM_STANDBY=prefer or require, or unset BACKUP_STANDBY_HOST.',
    },
  ])("refuses it $name", ({ env, message }) => {
    expect(errorOf(env as Record<string, string>).message).toBe(message);
  });

  it("takes a replica without BACKUP_STANDBY_HOST: it serves, the primary names it", () => {
    const env = parseEnv({ ...backup, PG_MODE: "replica", PRIMARY_HOST: "primary", REPLICATION_PASSWORD: "r", BACKUP_FROM_STANDBY: "require" });
    expect(env.BACKUP_FROM_STANDBY).toBe("require");
    expect(env.BACKUP_STANDBY_PORT).toBe(8432);
  });
});
