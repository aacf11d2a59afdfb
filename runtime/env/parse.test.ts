import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv, s3Endpoint } from "./parse.js";

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
    const env = parseEnv({ POSTGRES_PASSWORD_FILE: "/run/secrets/pw", POSTGRES_USER_FILE: "/run/secrets/user" }, (p) => (p.endsWith("pw") ? "s3cret\n" : "owner\n\n"));
    expect(env.POSTGRES_PASSWORD).toBe("s3cret");
    expect(env.POSTGRES_USER).toBe("owner");
    expect(env.POSTGRES_DB).toBe("owner");
  });

  it("refuses a variable and its *_FILE form together", () => {
    expect(errorOf({ POSTGRES_USER: "a", POSTGRES_USER_FILE: "/f" }).message).toBe(
      "POSTGRES_USER: both POSTGRES_USER and POSTGRES_USER_FILE are set, but they are exclusive. Fix: set only one of them.",
    );
  });

  it("names the variable, the value, what it accepts and the default in one line", () => {
    const e = errorOf({ RETENTION_FULL: "four" });
    expect(e.message).toBe('RETENTION_FULL="four": expected a whole number 1-9999999. Fix: set RETENTION_FULL to a whole number 1-9999999, or unset it for the default (4).');
    expect(e.message).not.toContain("\n");
  });

  it("never shows a secret's value, only its length", () => {
    const both = errorOf({ ...backup, S3_SECRET_KEY_FILE: "/run/secrets/s3" });
    expect(both.message).toBe("S3_SECRET_KEY: both S3_SECRET_KEY and S3_SECRET_KEY_FILE are set, but they are exclusive. Fix: set only one of them.");
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
    expect(errorOf({ PG_MODE: "replica", PRIMARY_HOST: "db", REPLICATION_PASSWORD: "x", REPLICA_BOOTSTRAP: "backup" }).variable).toBe("REPLICA_BOOTSTRAP=backup");
    expect(errorOf({ REPLICATION_PASSWORD: "x", REPLICATION_USER: "postgres" }).variable).toBe('REPLICATION_USER="postgres"');
    const env = parseEnv({ PG_MODE: "replica", PRIMARY_HOST: "db", REPLICATION_PASSWORD_FILE: "/run/secrets/r" }, () => "from-file\n");
    expect([env.REPLICATION_PASSWORD, env.REPLICATION_USER, env.REPLICATION_SSLMODE, env.REPLICA_BOOTSTRAP, env.PRIMARY_PORT]).toEqual(["from-file", "replicator", "verify-ca", "basebackup", 5432]);
  });
});

describe("s3Endpoint", () => {
  it("takes the port from S3_ENDPOINT over S3_PORT", () => {
    expect(s3Endpoint(parseEnv({ ...backup, S3_ENDPOINT: "https://minio.local:9000/" }))).toEqual({ host: "minio.local", port: 9000 });
    expect(s3Endpoint(parseEnv({ ...backup, S3_ENDPOINT: "s3.eu-west-1.amazonaws.com", S3_PORT: "8443" }))).toEqual({ host: "s3.eu-west-1.amazonaws.com", port: 8443 });
  });
});
