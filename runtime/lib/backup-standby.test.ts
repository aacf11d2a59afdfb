import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseEnv, type BackupEnv } from "../env/parse.js";
import { backupStandbyArgs } from "./backup-standby.js";

const dir = mkdtempSync(join(tmpdir(), "backup-standby-"));
const ca = join(dir, "ca");
const ssl = join(dir, "ssl");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const source = {
  PGBACKREST_STANZA: "main",
  S3_BUCKET: "backups",
  S3_ACCESS_KEY: "AKIA",
  S3_SECRET_KEY: "s",
  CA_DIR: ca,
  SSL_CERT_DIR: ssl,
  SERVER_NAME: "primary",
  POSTGRES_USER: "app",
  BACKUP_FROM_STANDBY: "prefer",
  BACKUP_STANDBY_HOST: "replica1",
};
const env = (extra: Record<string, string> = {}) => parseEnv({ ...source, ...extra }) as BackupEnv;

describe("backupStandbyArgs", () => {
  it("adds nothing with prefer until the cluster CA and the client certificate are there, and refuses with require", () => {
    expect(backupStandbyArgs(env())).toEqual([]);
    expect(() => backupStandbyArgs(env(), "require")).toThrow(
      `BACKUP_FROM_STANDBY=require, but CA_DIR ${ca} has no ca.crt, the cluster CA the standby's TLS server trusts. Fix: name a streaming replica in BACKUP_STANDBY_HOST, or set BACKUP_FROM_STANDBY=prefer`,
    );
  });

  it("names the replica as pg2 over TLS with the client certificate, as this primary runs PostgreSQL", () => {
    for (const d of [ca, ssl]) mkdirSync(d, { recursive: true });
    for (const f of [join(ca, "ca.crt"), join(ssl, "pgbackrest-client.crt"), join(ssl, "pgbackrest-client.key")]) writeFileSync(f, "x");
    expect(backupStandbyArgs(env(), "require")).toEqual([
      "--backup-standby=y",
      "--pg2-host=replica1",
      "--pg2-host-type=tls",
      "--pg2-host-config=/etc/pgbackrest/standby-server.conf",
      "--pg2-host-port=8432",
      `--pg2-host-ca-file=${ca}/ca.crt`,
      `--pg2-host-cert-file=${ssl}/pgbackrest-client.crt`,
      `--pg2-host-key-file=${ssl}/pgbackrest-client.key`,
      "--pg2-path=/var/lib/postgresql/18/docker",
      "--pg2-port=5432",
      "--pg2-socket-path=/var/run/postgresql",
      "--pg2-user=app",
    ]);
    expect(backupStandbyArgs(env())[0]).toBe("--backup-standby=prefer");
    expect(backupStandbyArgs(env(), "off")).toEqual([]);
  });

  it("never names this member as the standby (a promoted replica with the cluster's common settings)", () => {
    const promoted = env({ PG_MODE: "replica", PRIMARY_HOST: "primary", REPLICATION_PASSWORD: "r", SERVER_NAME: "replica1" });
    expect(backupStandbyArgs(promoted)).toEqual([]);
    expect(() => backupStandbyArgs(promoted, "require")).toThrow(/BACKUP_STANDBY_HOST=replica1 is this member \(promoted since\?\)/);
  });
});
