import { describe, expect, it } from "vitest";
import { parseEnv, repositories, type BackupEnv } from "../env/parse.js";
import { officialHostLine, withHbaBlock } from "./pg-hba.js";
import { gcsKeyPath, pgbackrestChildEnv, pgbackrestConfPath, renderPgbackrestConf, renderStandbyServerConf } from "./pgbackrest-conf.js";
import { includeLine, quote, renderPostgresqlConf, withIncludeLine } from "./postgresql-conf.js";

const backupSource = {
  PGBACKREST_STANZA: "main",
  S3_BUCKET: "backups",
  S3_ACCESS_KEY: "AKIA-id",
  S3_SECRET_KEY: "do-not-print-me",
  S3_ENDPOINT: "https://s3:9000",
  S3_URI_STYLE: "path",
  S3_CA_FILE: "/etc/ca.crt",
  POSTGRES_USER: "owner",
};
const backupEnv = parseEnv(backupSource);

describe("renderPostgresqlConf", () => {
  it("turns TLS on and prepares WAL for replication in drop-in mode, without archiving", () => {
    const conf = renderPostgresqlConf(parseEnv({}), "discard");
    expect(conf).toContain("ssl = on");
    expect(conf).toContain("ssl_cert_file = '/var/lib/postgresql/ssl/server.crt'");
    expect(conf).toContain("wal_level = replica");
    expect(conf).not.toContain("archive_mode");
  });

  it("discards WAL until the stanza is active, then archives it through pgBackRest", () => {
    expect(renderPostgresqlConf(backupEnv, "discard")).toMatch(/archive_mode = on\narchive_timeout = 60\n#.*\narchive_command = '\/bin\/true'/);
    expect(renderPostgresqlConf(backupEnv, "pgbackrest")).toContain("archive_command = '/usr/bin/pgbackrest --stanza=main archive-push %p'");
  });

  /** The lines every postgres-ba.conf starts with, for the default port, TLS directory and WAL senders. */
  const commonLines = [
    "# Managed by postgres-ba: rewritten from environment variables at every start. Do not edit;",
    "# override with ALTER SYSTEM or `-c name=value` arguments instead.",
    "listen_addresses = '*'",
    "port = 5432",
    "ssl = on",
    "ssl_cert_file = '/var/lib/postgresql/ssl/server.crt'",
    "ssl_key_file = '/var/lib/postgresql/ssl/server.key'",
    "ssl_ca_file = '/var/lib/postgresql/ssl/root.crt'",
    "wal_level = replica",
    "max_wal_senders = 10",
    "max_replication_slots = 10",
    "wal_log_hints = on",
  ];
  const restoreCommand = `restore_command = '/usr/bin/pgbackrest --stanza=main --pg1-path=/var/lib/postgresql/18/docker --no-archive-async archive-get %f "%p"'`;

  it("renders the whole drop-in file: TLS, WAL for replication, nothing about archiving", () => {
    expect(renderPostgresqlConf(parseEnv({}), "pgbackrest")).toBe(`${commonLines.join("\n")}\n`);
  });

  it("takes the port, the TLS directory and the replication limits from the environment", () => {
    const conf = renderPostgresqlConf(parseEnv({ POSTGRES_PORT: "6543", SSL_CERT_DIR: "/tls", MAX_WAL_SENDERS: "4", MAX_REPLICATION_SLOTS: "3" }), "discard");
    for (const line of [
      "port = 6543",
      "ssl_cert_file = '/tls/server.crt'",
      "ssl_key_file = '/tls/server.key'",
      "ssl_ca_file = '/tls/root.crt'",
      "max_wal_senders = 4",
      "max_replication_slots = 3",
    ]) {
      expect(conf.split("\n")).toContain(line);
    }
  });

  it("renders the whole file of a backing-up primary before its first full backup: WAL acknowledged, not kept", () => {
    expect(renderPostgresqlConf(parseEnv({ ...backupSource, ARCHIVE_TIMEOUT: "30" }), "discard")).toBe(
      [
        ...commonLines,
        "archive_mode = on",
        "archive_timeout = 30",
        "# no full backup exists yet: WAL is not archived until `postgres-ba init-backups` or the first backup runs",
        "archive_command = '/bin/true'",
        restoreCommand,
        "",
      ].join("\n"),
    );
  });

  it("renders the whole file of a standby that backs up: archive-push, restore_command, and the primary's connection", () => {
    expect(renderPostgresqlConf(backupEnv, "pgbackrest", { primaryConninfo: "host=db-primary user=replicator", slot: "replica_1" })).toBe(
      [
        ...commonLines,
        "archive_mode = on",
        "archive_timeout = 60",
        "archive_command = '/usr/bin/pgbackrest --stanza=main archive-push %p'",
        restoreCommand,
        "# standby of PRIMARY_HOST (standby.signal); `postgres-ba promote` makes it a primary",
        "hot_standby = on",
        "primary_conninfo = 'host=db-primary user=replicator'",
        "primary_slot_name = 'replica_1'",
        "",
      ].join("\n"),
    );
  });

  it("with REPO_READ_ONLY restores WAL from the repository but never archives into it", () => {
    expect(renderPostgresqlConf(parseEnv({ ...backupSource, REPO_READ_ONLY: "true" }), "pgbackrest")).toBe([...commonLines, restoreCommand, ""].join("\n"));
  });

  it("quotes values the PostgreSQL way: quotes doubled, backslashes escaped", () => {
    expect(quote("it's")).toBe("'it''s'");
    expect(quote(String.raw`a\b 'c' \'`)).toBe(String.raw`'a\\b ''c'' \\'''`);
    expect(quote("")).toBe("''");
  });
});

describe("withIncludeLine", () => {
  const appended = `\n# Settings owned by the postgres-ba entrypoint (rewritten at every start)\n${includeLine}\n`;

  it("includes postgres-ba.conf, if it exists, from the data directory", () => {
    expect(includeLine).toBe("include_if_exists = 'postgres-ba.conf'");
  });

  it("appends the include once", () => {
    const once = withIncludeLine("max_connections = 100\n");
    expect(once.endsWith(`${includeLine}\n`)).toBe(true);
    expect(withIncludeLine(once)).toBe(once);
  });

  it.for([
    { name: "a file ending in a newline", conf: "max_connections = 100\n", expected: `max_connections = 100\n${appended}` },
    { name: "a file without its last newline", conf: "max_connections = 100", expected: `max_connections = 100\n${appended}` },
    { name: "an empty file", conf: "", expected: appended },
  ])("appends a blank line, a comment and the include to $name", ({ conf, expected }) => {
    expect(withIncludeLine(conf)).toBe(expected);
  });

  it("finds the include already there with spaces around it, and not when it is commented out", () => {
    const indented = `a = 1\n  ${includeLine}  \nb = 2\n`;
    expect(withIncludeLine(indented)).toBe(indented);
    expect(withIncludeLine(`#${includeLine}\n`)).toBe(`#${includeLine}\n${appended}`);
  });
});

describe("withHbaBlock", () => {
  it("adds the replication-over-TLS block once and keeps the user's lines around it", () => {
    const original = "local all all trust\nhost all all all scram-sha-256\n";
    const once = withHbaBlock(original);
    expect(once.startsWith(original)).toBe(true);
    expect(once).toContain("hostssl replication all all scram-sha-256\nhostnossl replication all all reject");
    expect(withHbaBlock(once)).toBe(once);
    const userAddedAfter = `${once}host mydb me 10.0.0.0/8 md5\n`;
    expect(withHbaBlock(userAddedAfter)).toBe(userAddedAfter);
  });

  const block = [
    "# BEGIN postgres-ba (managed: replication only over TLS)",
    "hostssl replication all all scram-sha-256",
    "hostnossl replication all all reject",
    "# END postgres-ba",
  ].join("\n");

  it.for([
    { name: "a file ending in a newline", hba: "local all all trust\n", expected: `local all all trust\n\n${block}\n` },
    { name: "a file without its last newline", hba: "local all all trust", expected: `local all all trust\n\n${block}\n` },
    { name: "an empty file", hba: "", expected: `\n${block}\n` },
  ])("appends a blank line and the block to $name", ({ hba, expected }) => {
    expect(withHbaBlock(hba)).toBe(expected);
  });

  it("finds a block at the very start of the file", () => {
    const first = `${block}\nlocal all all trust\n`;
    expect(withHbaBlock(first)).toBe(first);
  });

  it("replaces an edited block in place, keeping the lines before and after it", () => {
    const edited =
      "local all all trust\n# BEGIN postgres-ba (managed: replication only over TLS)\nhost replication all all trust\n# END postgres-ba\nhost all all all md5\n";
    expect(withHbaBlock(edited)).toBe(`local all all trust\n${block}\nhost all all all md5\n`);
  });

  it("appends a new block when only its end marker is there, or the end comes before the beginning", () => {
    expect(withHbaBlock("# END postgres-ba\n")).toBe(`# END postgres-ba\n\n${block}\n`);
    const swapped = "# END postgres-ba\n# BEGIN postgres-ba (managed: replication only over TLS)\n";
    expect(withHbaBlock(swapped)).toBe(`${swapped}\n${block}\n`);
  });
});

describe("pgbackrestConfPath", () => {
  it("is where pgBackRest looks for its configuration without --config", () => {
    expect(pgbackrestConfPath).toBe("/etc/pgbackrest/pgbackrest.conf");
  });
});

describe("pgbackrestChildEnv", () => {
  it("clears every inherited PGBACKREST_* variable, passes the accepted options and the keys, and leaves the rest alone", () => {
    const inherited = { ...backupSource, PATH: "/usr/bin", PGBACKREST_STANZA: "main", PGBACKREST_ARCHIVE_TIMEOUT: "90", HOME: "/root" };
    expect(pgbackrestChildEnv(backupEnv as Parameters<typeof pgbackrestChildEnv>[0], inherited)).toStrictEqual({
      PGBACKREST_STANZA: undefined,
      PGBACKREST_ARCHIVE_TIMEOUT: "90",
      PGBACKREST_REPO1_S3_KEY: "AKIA-id",
      PGBACKREST_REPO1_S3_KEY_SECRET: "do-not-print-me",
      PGBACKREST_PG1_USER: "owner",
    });
  });

  it("with S3_KEY_TYPE=auto or web-id, passes no static key and names the key type in pgbackrest.conf", () => {
    const { S3_ACCESS_KEY, S3_SECRET_KEY, ...keyless } = backupSource;
    for (const type of ["auto", "web-id"]) {
      const source = { ...keyless, S3_KEY_TYPE: type, AWS_ROLE_ARN: "arn:aws:iam::1:role/backup", AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/token" };
      const env = parseEnv(source) as Parameters<typeof pgbackrestChildEnv>[0];
      const child = pgbackrestChildEnv(env, source);
      expect(child.PGBACKREST_REPO1_S3_KEY).toBeUndefined();
      expect(child.PGBACKREST_REPO1_S3_KEY_SECRET).toBeUndefined();
      expect(renderPgbackrestConf(env)).toContain(`\nrepo1-s3-key-type=${type}\n`);
    }
    expect(renderPgbackrestConf(backupEnv as Parameters<typeof renderPgbackrestConf>[0])).not.toContain("key-type");
  });

  it("points repo1 at a blob container with REPO_TYPE=azure, the key only in the child's environment", () => {
    const source = {
      PGBACKREST_STANZA: "main",
      REPO_TYPE: "azure",
      AZURE_ACCOUNT: "devstoreaccount1",
      AZURE_CONTAINER: "pg-backups",
      AZURE_KEY: "a2V5LW5vdC1wcmludGVk",
      AZURE_ENDPOINT: "https://azurite:10000",
      AZURE_URI_STYLE: "path",
      AZURE_CA_FILE: "/etc/azure-ca.crt",
    };
    const env = parseEnv(source);
    const conf = renderPgbackrestConf(env as Parameters<typeof renderPgbackrestConf>[0]);
    expect(conf).toContain(
      "\nrepo1-type=azure\nrepo1-path=/pgbackrest\nrepo1-azure-account=devstoreaccount1\nrepo1-azure-container=pg-backups\nrepo1-azure-endpoint=azurite\nrepo1-azure-uri-style=path\nrepo1-storage-port=10000\nrepo1-storage-ca-file=/etc/azure-ca.crt\n",
    );
    expect(conf).not.toMatch(/s3|a2V5LW5vdC1wcmludGVk/);
    const child = pgbackrestChildEnv(env as Parameters<typeof pgbackrestChildEnv>[0], source);
    expect(child.PGBACKREST_REPO1_AZURE_KEY).toBe("a2V5LW5vdC1wcmludGVk");
    expect(child.PGBACKREST_REPO1_S3_KEY).toBeUndefined();
  });

  it("leaves the Azure endpoint's port and key type to pgBackRest's defaults (443, shared) on Azure itself", () => {
    const env = parseEnv({ PGBACKREST_STANZA: "main", REPO_TYPE: "azure", AZURE_ACCOUNT: "prodbackups", AZURE_CONTAINER: "pgbackups", AZURE_KEY_TYPE: "auto" });
    const conf = renderPgbackrestConf(env as Parameters<typeof renderPgbackrestConf>[0]);
    expect(conf).toContain("\nrepo1-azure-endpoint=blob.core.windows.net\nrepo1-azure-uri-style=host\nrepo1-azure-key-type=auto\n");
    expect(conf).not.toContain("repo1-storage-port");
  });

  it("points repo1 at a GCS bucket with REPO_TYPE=gcs: a service key by its private copy's path, a token by value, neither in the file", () => {
    // As Google hands a key out: JSON over several lines.
    const source = {
      PGBACKREST_STANZA: "main",
      REPO_TYPE: "gcs",
      GCS_BUCKET: "pg-backups",
      GCS_KEY: '{\n  "type": "service_account",\n  "private_key": "k"\n}\n',
    };
    const env = parseEnv(source) as Parameters<typeof renderPgbackrestConf>[0];
    const conf = renderPgbackrestConf(env);
    expect(conf).toContain("\nrepo1-type=gcs\nrepo1-path=/pgbackrest\nrepo1-gcs-bucket=pg-backups\nrepo1-gcs-endpoint=storage.googleapis.com\n");
    expect(conf).not.toMatch(/private_key|repo1-gcs-key|s3/);
    expect(pgbackrestChildEnv(env, source).PGBACKREST_REPO1_GCS_KEY).toBe(gcsKeyPath(1));
    const token = { ...source, GCS_KEY_TYPE: "token", GCS_KEY: "ya29.a-token", GCS_ENDPOINT: "gcs.internal:4443" };
    const tokenEnv = parseEnv(token) as Parameters<typeof renderPgbackrestConf>[0];
    const tokenConf = renderPgbackrestConf(tokenEnv);
    expect(tokenConf).toContain("\nrepo1-gcs-endpoint=gcs.internal:4443\nrepo1-gcs-key-type=token\n");
    expect(tokenConf).not.toContain("repo1-storage-port");
    expect(pgbackrestChildEnv(tokenEnv, token).PGBACKREST_REPO1_GCS_KEY).toBe("ya29.a-token");
  });

  it("points repo1 at a directory with REPO_TYPE=posix, with no S3 option and no key", () => {
    const source = { PGBACKREST_STANZA: "main", POSTGRES_USER: "owner", REPO_TYPE: "posix", REPO_PATH: "/var/lib/pgbackrest-repo" };
    const env = parseEnv(source) as Parameters<typeof renderPgbackrestConf>[0];
    const conf = renderPgbackrestConf(env);
    expect(conf).toContain("\nrepo1-type=posix\nrepo1-path=/var/lib/pgbackrest-repo\n");
    expect(conf).not.toMatch(/s3|storage/);
    expect(pgbackrestChildEnv(env, source).PGBACKREST_REPO1_S3_KEY).toBeUndefined();
  });

  it("passes REPO_CIPHER_PASS as pgBackRest's passphrase, and pgbackrest.conf names only the cipher", () => {
    const source = { ...backupSource, REPO_CIPHER_PASS: "correct horse battery" };
    const env = parseEnv(source) as Parameters<typeof pgbackrestChildEnv>[0];
    expect(pgbackrestChildEnv(env, source).PGBACKREST_REPO1_CIPHER_PASS).toBe("correct horse battery");
    const conf = renderPgbackrestConf(env);
    expect(conf).toContain("\nrepo1-cipher-type=aes-256-cbc\n");
    expect(conf).not.toContain("correct horse");
    expect(renderPgbackrestConf(backupEnv as Parameters<typeof renderPgbackrestConf>[0])).not.toContain("cipher");
  });
});

describe("officialHostLine", () => {
  it("appends the official image's catch-all line on a line of its own", () => {
    expect(officialHostLine("scram-sha-256")).toBe("\nhost all all all scram-sha-256\n");
  });

  it("warns above the line when the method is trust, as the official image does", () => {
    expect(officialHostLine("trust")).toBe(
      "\n# warning trust is enabled for all connections\n# see https://www.postgresql.org/docs/18/auth-trust.html\nhost all all all trust\n",
    );
  });
});

describe("renderPgbackrestConf", () => {
  const conf = renderPgbackrestConf(backupEnv as Parameters<typeof renderPgbackrestConf>[0]);

  it("holds no secret: keys travel only in pgBackRest's environment", () => {
    expect(conf).not.toContain("do-not-print-me");
    expect(conf).not.toContain("AKIA-id");
    expect(conf).not.toMatch(/s3-key/);
  });

  it("points repo1 at the bucket with path style, port and CA from S3_ENDPOINT and S3_CA_FILE", () => {
    for (const line of [
      "repo1-type=s3",
      "repo1-s3-bucket=backups",
      "repo1-s3-endpoint=s3",
      "repo1-storage-port=9000",
      "repo1-s3-uri-style=path",
      "repo1-storage-ca-file=/etc/ca.crt",
      "repo1-storage-verify-tls=y",
    ]) {
      expect(conf).toContain(`\n${line}\n`);
    }
  });

  it("defaults to zst, bundles and block incremental, async archiving, and the real superuser", () => {
    for (const line of ["compress-type=zst", "repo1-bundle=y", "repo1-block=y", "archive-async=y", "pg1-user=owner", "[main]"]) expect(conf).toContain(line);
  });

  it("renders the whole file: [global], archive-push's quieter console, and the stanza's PostgreSQL", () => {
    expect(conf).toBe(
      [
        "# Managed by postgres-ba: rewritten from environment variables at every start.",
        "",
        "# Repository keys are not here: they reach pgBackRest through its environment only.",
        "",
        "[global]",
        "repo1-type=s3",
        "repo1-path=/pgbackrest",
        "repo1-s3-bucket=backups",
        "repo1-s3-endpoint=s3",
        "repo1-s3-region=us-east-1",
        "repo1-s3-uri-style=path",
        "repo1-storage-port=9000",
        "repo1-storage-verify-tls=y",
        "repo1-storage-ca-file=/etc/ca.crt",
        "repo1-retention-full=4",
        "repo1-retention-diff=4",
        "repo1-bundle=y",
        "repo1-block=y",
        "compress-type=zst",
        "process-max=2",
        "start-fast=y",
        "archive-async=y",
        "spool-path=/var/spool/pgbackrest",
        "log-path=/var/log/pgbackrest",
        "log-level-console=info",
        "log-level-file=detail",
        "",
        "[global:archive-push]",
        "log-level-console=warn",
        "",
        "[main]",
        "pg1-path=/var/lib/postgresql/18/docker",
        "pg1-port=5432",
        "pg1-user=owner",
        "pg1-socket-path=/var/run/postgresql",
        "",
      ].join("\n"),
    );
  });

  /** The [global] lines of pgbackrest.conf for the backup environment plus `extra`. */
  const globalLines = (extra: Record<string, string>) =>
    renderPgbackrestConf(parseEnv({ ...backupSource, ...extra }) as Parameters<typeof renderPgbackrestConf>[0])
      .split("\n\n")
      .find((s) => s.startsWith("[global]\n"))!
      .split("\n");

  it.for<{ extra: Record<string, string>; line: string }>([
    { extra: { S3_VERIFY_TLS: "false" }, line: "repo1-storage-verify-tls=n" },
    { extra: { ARCHIVE_ASYNC: "false" }, line: "archive-async=n" },
    { extra: { RETENTION_ARCHIVE: "2" }, line: "repo1-retention-archive=2" },
    { extra: { RETENTION_FULL: "7", RETENTION_DIFF: "3" }, line: "repo1-retention-diff=3" },
    { extra: { ARCHIVE_PUSH_QUEUE_MAX: "4GB" }, line: "archive-push-queue-max=4G" },
    { extra: { ARCHIVE_PUSH_QUEUE_MAX: "512MB" }, line: "archive-push-queue-max=512M" },
    { extra: { S3_REGION: "eu-west-3", S3_PATH: "/cluster-a" }, line: "repo1-s3-region=eu-west-3" },
    { extra: { S3_REGION: "eu-west-3", S3_PATH: "/cluster-a" }, line: "repo1-path=/cluster-a" },
    { extra: { PGBACKREST_COMPRESS_TYPE: "lz4", PGBACKREST_PROCESS_MAX: "4" }, line: "compress-type=lz4" },
    { extra: { PGBACKREST_COMPRESS_TYPE: "lz4", PGBACKREST_PROCESS_MAX: "4" }, line: "process-max=4" },
    { extra: { PGBACKREST_COMPRESS_LEVEL: "6" }, line: "compress-level=6" },
    { extra: { S3_ENDPOINT: "https://minio.local/" }, line: "repo1-storage-port=443" },
    { extra: { S3_ENDPOINT: "minio.local", S3_PORT: "8443" }, line: "repo1-storage-port=8443" },
  ])("$extra gives $line", ({ extra, line }) => {
    expect(globalLines(extra)).toContain(line);
  });

  it("bundles whenever block incremental is on (pgBackRest needs both), and not when both are off", () => {
    expect(globalLines({ BACKUP_BUNDLE: "false" })).toEqual(expect.arrayContaining(["repo1-bundle=y", "repo1-block=y"]));
    expect(globalLines({ BACKUP_BUNDLE: "true", BACKUP_BLOCK_INCREMENTAL: "false" })).toEqual(expect.arrayContaining(["repo1-bundle=y", "repo1-block=n"]));
    expect(globalLines({ BACKUP_BUNDLE: "false", BACKUP_BLOCK_INCREMENTAL: "false" })).toEqual(expect.arrayContaining(["repo1-bundle=n", "repo1-block=n"]));
  });

  it("leaves out the options whose variable is unset, rather than writing an empty value", () => {
    const lines = globalLines({ S3_CA_FILE: "" });
    expect(lines.filter((l) => /^(repo1-storage-ca-file|repo1-retention-archive|archive-push-queue-max)=/.test(l))).toEqual([]);
    expect(lines.every((l) => !l.endsWith("=") && !l.endsWith("=undefined"))).toBe(true);
  });
});

describe("two repositories (REPO2_TYPE)", () => {
  const source = {
    ...backupSource,
    RETENTION_FULL: "2",
    REPO2_TYPE: "s3",
    REPO2_S3_BUCKET: "copy",
    REPO2_S3_ENDPOINT: "s3.eu-west-1.amazonaws.com",
    REPO2_S3_REGION: "eu-west-1",
    REPO2_S3_ACCESS_KEY: "AKIA-two",
    REPO2_S3_SECRET_KEY: "second-secret",
    REPO2_RETENTION_FULL: "8",
    REPO2_CIPHER_PASS: "second-pass",
  };
  const env = parseEnv(source) as BackupEnv;

  it("writes each repository's place, retention, encryption and layout under its own index", () => {
    const conf = renderPgbackrestConf(env);
    expect(conf).toContain("repo1-type=s3\nrepo1-path=/pgbackrest\nrepo1-s3-bucket=backups\nrepo1-s3-endpoint=s3\n");
    expect(conf).toContain("repo1-retention-full=2\n");
    expect(conf).not.toContain("repo1-cipher-type");
    expect(conf).toContain(
      "repo2-type=s3\nrepo2-path=/pgbackrest\nrepo2-s3-bucket=copy\nrepo2-s3-endpoint=s3.eu-west-1.amazonaws.com\nrepo2-s3-region=eu-west-1\n",
    );
    expect(conf).toContain("repo2-storage-port=443\n");
    expect(conf).toContain("repo2-cipher-type=aes-256-cbc\nrepo2-retention-full=8\nrepo2-retention-diff=4\n");
    expect(conf).toContain("repo2-bundle=y\nrepo2-block=y\n");
    expect(conf).not.toMatch(/second-secret|second-pass|AKIA-two/);
  });

  it("hands each repository's keys to pgBackRest under its own index", () => {
    const child = pgbackrestChildEnv(env, source);
    expect(child).toMatchObject({
      PGBACKREST_REPO1_S3_KEY: "AKIA-id",
      PGBACKREST_REPO2_S3_KEY: "AKIA-two",
      PGBACKREST_REPO2_S3_KEY_SECRET: "second-secret",
      PGBACKREST_REPO2_CIPHER_PASS: "second-pass",
    });
    expect(child.PGBACKREST_REPO1_CIPHER_PASS).toBeUndefined();
  });

  it("writes one repository alone as repo1, with its own keys only, for pushing WAL to it alone", () => {
    const [, second] = repositories(env);
    const conf = renderPgbackrestConf(env, second);
    expect(conf).toContain("repo1-type=s3\nrepo1-path=/pgbackrest\nrepo1-s3-bucket=copy\n");
    expect(conf).toContain("repo1-cipher-type=aes-256-cbc\nrepo1-retention-full=8\n");
    expect(conf).not.toMatch(/repo2-|bucket=backups/);
    const child = pgbackrestChildEnv(env, { ...source, PGBACKREST_REPO2_S3_KMS_KEY_ID: "kms-2", PGBACKREST_REPO1_S3_KMS_KEY_ID: "kms-1" }, second);
    expect(child).toMatchObject({
      PGBACKREST_REPO1_S3_KEY: "AKIA-two",
      PGBACKREST_REPO1_S3_KEY_SECRET: "second-secret",
      PGBACKREST_REPO1_CIPHER_PASS: "second-pass",
      PGBACKREST_REPO1_S3_KMS_KEY_ID: "kms-2",
    });
    expect(Object.keys(child).filter((k) => k.startsWith("PGBACKREST_REPO2_") && child[k] !== undefined)).toEqual([]);
  });

  it("gives a second GCS service key its own file", () => {
    const gcs = parseEnv({ ...backupSource, REPO2_TYPE: "gcs", REPO2_GCS_BUCKET: "copy", REPO2_GCS_KEY: "{}" }) as BackupEnv;
    expect(pgbackrestChildEnv(gcs, {}).PGBACKREST_REPO2_GCS_KEY).toBe(gcsKeyPath(2));
    expect(gcsKeyPath(2)).not.toBe(gcsKeyPath(1));
  });
});

describe("renderStandbyServerConf", () => {
  it("names this PostgreSQL and no repository: the TLS server of a standby reads nothing else", () => {
    const conf = renderStandbyServerConf(parseEnv({ ...backupSource, BACKUP_FROM_STANDBY: "prefer", BACKUP_STANDBY_HOST: "replica1" }) as BackupEnv);
    expect(conf).toContain("[main]\npg1-path=/var/lib/postgresql/18/docker\npg1-port=5432\npg1-socket-path=/var/run/postgresql\n");
    expect(conf).not.toMatch(/repo\d|s3-|-bucket/);
  });
});
