import { describe, expect, it } from "vitest";
import { parseEnv } from "../env/parse.js";
import { withHbaBlock } from "./pg-hba.js";
import { renderPgbackrestConf } from "./pgbackrest-conf.js";
import { includeLine, quote, renderPostgresqlConf, withIncludeLine } from "./postgresql-conf.js";

const backupEnv = parseEnv({
  PGBACKREST_STANZA: "main",
  S3_BUCKET: "backups",
  S3_ACCESS_KEY: "AKIA-id",
  S3_SECRET_KEY: "do-not-print-me",
  S3_ENDPOINT: "https://s3:9000",
  S3_URI_STYLE: "path",
  S3_CA_FILE: "/etc/ca.crt",
  POSTGRES_USER: "owner",
});

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

  it("quotes values the PostgreSQL way", () => {
    expect(quote("it's")).toBe("'it''s'");
  });
});

describe("withIncludeLine", () => {
  it("appends the include once", () => {
    const once = withIncludeLine("max_connections = 100\n");
    expect(once.endsWith(`${includeLine}\n`)).toBe(true);
    expect(withIncludeLine(once)).toBe(once);
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
});
