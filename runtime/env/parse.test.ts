import { describe, expect, it } from "vitest";
import { parseEnv, repositoryMode, repositoryWritable, repositoryWritesOff, s3Endpoint } from "./parse.js";
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

describe("repositoryMode", () => {
  it("is off without a stanza, read-only with REPO_READ_ONLY, read-write otherwise", () => {
    expect(repositoryMode(parseEnv({}))).toBe("off");
    expect(repositoryMode(parseEnv({ ...backup, REPO_READ_ONLY: "true" }))).toBe("read-only");
    expect(repositoryMode(parseEnv(backup))).toBe("read-write");
    expect(repositoryWritesOff(parseEnv(backup))).toBeUndefined();
    expect([parseEnv({}), parseEnv({ ...backup, REPO_READ_ONLY: "true" }), parseEnv(backup)].map(repositoryWritable)).toEqual([false, false, true]);
    expect(repositoryWritesOff(parseEnv({}))).toMatch(/drop-in mode/);
  });
});
