import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { followedTimeline } from "../cli/ha-commands.js";
import { parseEnv } from "../env/parse.js";
import { ConfigError } from "../errors.js";
import { patroniConf, renderPatroniConf, serverArgsAsParameters } from "./patroni-conf.js";
import { etcdFlags } from "../etcd-member.js";
import { tlsPaths } from "../lib/tls-paths.js";

const member = {
  HA_MODE: "patroni",
  HA_ETCD_HOSTS: "etcd1:2379,etcd2:2379",
  SERVER_NAME: "db1",
  POSTGRES_PASSWORD: "su-secret",
  REPLICATION_PASSWORD: "repl-secret",
  PGBACKREST_STANZA: "main",
  S3_BUCKET: "backups",
  S3_ACCESS_KEY: "AKIA-id",
  S3_SECRET_KEY: "s3-secret",
};

function errorOf(source: Record<string, string>): ConfigError {
  try {
    parseEnv(source);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("parseEnv accepted it");
}

describe("patroniConf", () => {
  const conf = patroniConf(parseEnv(member));

  it("names the cluster after the stanza and the member after SERVER_NAME, reached at that name", () => {
    expect(conf.scope).toBe("main");
    expect(conf.name).toBe("db1");
    expect(conf.postgresql.connect_address).toBe("db1:5432");
    expect(conf.restapi.connect_address).toBe("db1:8008");
  });

  it("talks to etcd over TLS with the cluster CA, signing in with the server certificate", () => {
    expect(conf.etcd3).toEqual({
      hosts: ["etcd1:2379", "etcd2:2379"],
      protocol: "https",
      cacert: "/var/lib/postgresql/ca/ca.crt",
      cert: "/var/lib/postgresql/ssl/server.crt",
      key: "/var/lib/postgresql/ssl/server.key",
    });
    expect(patroniConf(parseEnv({ ...member, HA_ETCD_PROTOCOL: "http" })).etcd3).toEqual({ hosts: ["etcd1:2379", "etcd2:2379"], protocol: "http" });
  });

  it("bootstraps with the official initialization, archives through pgBackRest and clones from the repository first", () => {
    expect(conf.bootstrap.method).toBe("postgres_ba");
    expect(conf.bootstrap.postgres_ba).toEqual({ command: "postgres-ba ha-bootstrap", no_params: true, keep_existing_recovery_conf: true });
    expect(conf.postgresql.parameters.archive_command).toBe("/usr/bin/pgbackrest --stanza=main archive-push %p");
    expect(conf.postgresql.recovery_conf?.restore_command).toMatch(/^\/usr\/bin\/pgbackrest --stanza=main .*archive-get %f "%p"$/);
    expect(conf.postgresql.create_replica_methods).toEqual(["pgbackrest", "basebackup"]);
    expect(conf.postgresql.pgbackrest?.command).toBe("postgres-ba ha-create-replica");
  });

  it("without backups: no archiving, replicas from the leader only", () => {
    const plain = patroniConf(parseEnv({ HA_MODE: "patroni", HA_ETCD_HOSTS: "etcd:2379", REPLICATION_PASSWORD: "r", SERVER_NAME: "db1" }));
    expect(plain.scope).toBe("postgres");
    expect(plain.postgresql.parameters).not.toHaveProperty("archive_command");
    expect(plain.postgresql.create_replica_methods).toEqual(["basebackup"]);
    expect(plain.postgresql).not.toHaveProperty("recovery_conf");
  });

  it("verifies members' certificates against the CA and allows replication only over TLS", () => {
    expect(conf.postgresql.authentication.replication).toMatchObject({
      username: "replicator",
      sslmode: "verify-ca",
      sslrootcert: "/var/lib/postgresql/ca/ca.crt",
    });
    expect(conf.postgresql.pg_hba).toEqual([
      "local all all trust",
      "hostssl replication replicator all scram-sha-256",
      "hostnossl replication all all reject",
      "host all all all scram-sha-256",
    ]);
  });

  it("carries the timings and the synchronous and failsafe modes into the dynamic configuration", () => {
    const strict = patroniConf(
      parseEnv({ ...member, HA_TTL: "40", HA_LOOP_WAIT: "5", HA_RETRY_TIMEOUT: "15", HA_SYNCHRONOUS_MODE: "strict", HA_FAILSAFE_MODE: "false" }),
    );
    expect(strict.bootstrap.dcs).toMatchObject({
      ttl: 40,
      loop_wait: 5,
      retry_timeout: 15,
      synchronous_mode: true,
      synchronous_mode_strict: true,
      failsafe_mode: false,
    });
    expect(conf.bootstrap.dcs).toMatchObject({ ttl: 30, loop_wait: 10, retry_timeout: 10, synchronous_mode: false, failsafe_mode: true });
  });

  it("protects the REST API's changes with HA_REST_PASSWORD, by default the replication password", () => {
    expect(conf.restapi.authentication).toEqual({ username: "patroni", password: "repl-secret" });
    expect(patroniConf(parseEnv({ ...member, HA_REST_PASSWORD: "rest" })).restapi.authentication.password).toBe("rest");
  });

  it("is YAML-readable JSON under a comment", () => {
    const text = renderPatroniConf(parseEnv(member));
    expect(text.split("\n")[0]).toMatch(/^# Managed by postgres-ba/);
    expect(JSON.parse(text.slice(text.indexOf("\n") + 1)).name).toBe("db1");
  });
});

describe("serverArgsAsParameters", () => {
  it("turns -c name=value and --name=value into parameters, the ones every member shares into the cluster's first configuration", () => {
    expect(serverArgsAsParameters(["-c", "shared_buffers=256MB", "-cwork_mem=8MB", "--max-connections=50"])).toEqual({
      local: { shared_buffers: "256MB", work_mem: "8MB" },
      shared: { max_connections: "50" },
    });
    const conf = patroniConf(parseEnv(member), ["-c", "max_connections=50", "-c", "work_mem=8MB"]);
    expect(conf.bootstrap.dcs.postgresql.parameters).toMatchObject({ max_connections: "50" });
    expect(conf.postgresql.parameters).toMatchObject({ work_mem: "8MB" });
    expect(conf.postgresql.parameters).not.toHaveProperty("max_connections");
  });

  it("refuses what Patroni cannot pass on", () => {
    expect(() => serverArgsAsParameters(["-D", "/elsewhere"])).toThrow(/"-D" cannot be passed on under HA_MODE=patroni/);
    expect(() => serverArgsAsParameters(["-c", "port=5433"])).toThrow(/port is set by Patroni/);
  });
});

describe("HA rules", () => {
  it("needs etcd and a replication password, and refuses a fixed role", () => {
    expect(errorOf({ ...member, HA_ETCD_HOSTS: "" }).message).toMatch(/^HA_ETCD_HOSTS: is required because HA_MODE=patroni/);
    expect(errorOf({ ...member, REPLICATION_PASSWORD: "" }).message).toMatch(/^REPLICATION_PASSWORD: is required because HA_MODE=patroni/);
    expect(errorOf({ ...member, PG_MODE: "replica" }).message).toMatch(/^PG_MODE=replica with HA_MODE=patroni: is refused: Patroni decides/);
    expect(parseEnv({ ...member, RESTORE_FROM_BACKUP: "true", RESTORE_TARGET_TIME: "2026-12-01 10:00:00+00" }).RESTORE_FROM_BACKUP).toBe(true);
    expect(errorOf({ ...member, RESTORE_FROM_BACKUP: "true", RESTORE_TARGET_ACTION: "pause" }).message).toMatch(
      /^RESTORE_TARGET_ACTION=pause with HA_MODE=patroni: is refused: Patroni waits for the restored server to promote itself/,
    );
    expect(errorOf({ ...member, RESTORE_FROM_BACKUP: "true", RESTORE_DELTA: "true" }).message).toMatch(/^RESTORE_DELTA=true with HA_MODE=patroni/);
  });

  it("refuses an etcd port past 65535", () => {
    expect(errorOf({ ...member, HA_ETCD_HOSTS: "etcd:99999" }).message).toMatch(/^HA_ETCD_HOSTS="etcd:99999": names etcd:99999, whose port is past 65535/);
  });

  it("holds Patroni's timing rule and keeps the REST port its own", () => {
    expect(errorOf({ ...member, HA_TTL: "20", HA_LOOP_WAIT: "10", HA_RETRY_TIMEOUT: "10" }).message).toMatch(/raise HA_TTL to at least 30/);
    expect(errorOf({ ...member, HA_REST_PORT: "5432" }).message).toMatch(/^HA_REST_PORT="5432": is also POSTGRES_PORT/);
    expect(errorOf({ ...member, HA_TTL: "10" }).message).toMatch(/^HA_TTL="10"/);
  });

  it("in a Kubernetes pod keeps the state in the API unless etcd is named, and refuses the other store's settings", () => {
    const { HA_ETCD_HOSTS: _, ...noEtcd } = member;
    const pod = { ...noEtcd, KUBERNETES_SERVICE_HOST: "10.96.0.1" };
    expect(patroniConf(parseEnv(pod), [], "db")).toMatchObject({
      kubernetes: { namespace: "db", labels: { "app.kubernetes.io/name": "postgres-pgbackrest" }, scope_label: "cluster-name", role_label: "role" },
    });
    expect(patroniConf(parseEnv(pod))).not.toHaveProperty("etcd3");
    expect(parseEnv({ ...member, KUBERNETES_SERVICE_HOST: "10.96.0.1" }).HA_STORE).toBe("etcd3");
    expect(errorOf({ ...pod, HA_ETCD_HOSTS: "etcd:2379", HA_STORE: "kubernetes" }).message).toBe(
      'HA_ETCD_HOSTS="etcd:2379": belongs to HA_STORE=etcd3, but HA_STORE is kubernetes, so nothing would use it. Fix: set HA_STORE=etcd3, or unset HA_ETCD_HOSTS.',
    );
    expect(errorOf({ ...noEtcd, HA_STORE: "kubernetes" }).message).toMatch(
      /^HA_STORE=kubernetes: needs a Kubernetes pod \(KUBERNETES_SERVICE_HOST is not set\)/,
    );
    expect(errorOf({ ...pod, HA_SCOPE: "main-" }).message).toMatch(/^HA_SCOPE="main-": cannot name a cluster in the Kubernetes store/);
    expect(errorOf({ ...pod, PGBACKREST_STANZA: "Main" }).message).toMatch(/^HA_SCOPE="Main" \(its default, from PGBACKREST_STANZA\): cannot name/);
    expect(parseEnv({ ...pod, PGBACKREST_STANZA: "Main", HA_SCOPE: "main" }).HA_SCOPE).toBe("main");
    // The pod's name is its host name: Patroni finds its own pod by it.
    expect(parseEnv(pod).HA_MEMBER_NAME).toBe(hostname());
  });

  it("refuses high-availability settings without HA_MODE", () => {
    const { HA_MODE: _, ...off } = member;
    expect(errorOf(off).message).toMatch(/^HA_ETCD_HOSTS="etcd1:2379,etcd2:2379": is set, but HA_MODE is off/);
  });
});

describe("etcdFlags", () => {
  const tls = tlsPaths({ CA_DIR: "/ca", SSL_CERT_DIR: "/ssl" });

  it("serves clients and peers over TLS with the CA, and requires their certificates", () => {
    const flags = etcdFlags("etcd", tls, {});
    expect(flags).toContain("--advertise-client-urls=https://etcd:2379");
    expect(flags).toContain("--trusted-ca-file=/ca/ca.crt");
    expect(flags).toContain("--client-cert-auth=true");
    expect(flags).toContain("--peer-client-cert-auth=true");
  });

  it("leaves out what an ETCD_* variable sets (etcd refuses both)", () => {
    const flags = etcdFlags("etcd1", tls, { ETCD_INITIAL_CLUSTER: "etcd1=https://etcd1:2380,etcd2=https://etcd2:2380" });
    expect(flags.some((f) => f.startsWith("--initial-cluster="))).toBe(false);
    expect(flags).toContain("--name=etcd1");
  });
});

describe("followedTimeline", () => {
  it("is the newest timeline whose history file is in pg_wal, or pg_control's", () => {
    const pgdata = mkdtempSync(join(tmpdir(), "pgdata-"));
    mkdirSync(join(pgdata, "pg_wal"));
    expect(followedTimeline(pgdata, 1)).toBe(1);
    for (const f of ["00000002.history", "0000000A.history", "00000002000000000000000A", "0000000B.partial"]) writeFileSync(join(pgdata, "pg_wal", f), "");
    expect(followedTimeline(pgdata, 3)).toBe(10);
    expect(followedTimeline(pgdata, 12)).toBe(12);
  });
});

describe("PGDATA under HA", () => {
  it("is refused directly in / or a system directory, whose owner Patroni would have to be", () => {
    expect(errorOf({ ...member, PGDATA: "/pgdata" }).message).toMatch(
      /^PGDATA="\/pgdata" with HA_MODE=patroni: is directly in \/, which Patroni would have to own/,
    );
  });
});
