import { join } from "node:path";
import { PostgreSqlContainer } from "@testcontainers/postgresql";
import { GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import pg from "pg";
import { $ } from "zx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerEngine, containerLogText, OneShotContainer, productImage, queryVerified, type Credentials } from "../harness/index.js";

const initdbFixtures = join(import.meta.dirname, "fixtures", "initdb");

describe("@compat a drop-in replacement for the official postgres:18 image #drop-in", () => {
  let image: string;
  /** Everything customized the official way, in drop-in mode (no pgBackRest variables). */
  let custom: StartedTestContainer;
  const owner: Credentials = { user: "app_owner", password: "s3cret from a file", database: "app" };

  beforeAll(async () => {
    image = await productImage();
    custom = await new GenericContainer(image)
      .withEnvironment({
        POSTGRES_USER_FILE: "/run/secrets/user",
        POSTGRES_PASSWORD_FILE: "/run/secrets/password",
        POSTGRES_DB_FILE: "/run/secrets/db",
        POSTGRES_INITDB_ARGS: `--no-data-checksums "--locale=C"`,
        POSTGRES_INITDB_WALDIR: "/var/lib/postgresql/wal",
      })
      .withCopyContentToContainer([
        { content: `${owner.user}\n`, target: "/run/secrets/user", mode: 0o644 },
        { content: `${owner.password}\n`, target: "/run/secrets/password", mode: 0o644 },
        { content: `${owner.database}\n`, target: "/run/secrets/db", mode: 0o644 },
      ])
      .withCopyDirectoriesToContainer([{ source: initdbFixtures, target: "/docker-entrypoint-initdb.d" }])
      // work_mem is PostgreSQL's; max_wal_senders is one the image sets itself in postgres-ba.conf.
      .withCommand(["-c", "work_mem=12MB", "-c", "max_wal_senders=7"])
      .withExposedPorts(5432)
      // The image's own HEALTHCHECK decides readiness.
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(120_000)
      .start();
  });

  afterAll(async () => {
    await custom?.stop({ removeVolumes: true });
  });

  const sql = <R extends pg.QueryResultRow>(text: string) => queryVerified<R>(custom, owner, text);

  it("creates POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB from their *_FILE forms", async () => {
    const [row] = await sql<{ user: string; db: string; superuser: boolean }>(
      "SELECT current_user AS user, current_database() AS db, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user",
    );
    expect(row).toEqual({ user: "app_owner", db: "app", superuser: true });
  });

  it("passes POSTGRES_INITDB_ARGS (quotes respected) and POSTGRES_INITDB_WALDIR to initdb", async () => {
    const [row] = await sql<{ checksums: string; collate: string }>(
      "SELECT current_setting('data_checksums') AS checksums, datcollate AS collate FROM pg_database WHERE datname = current_database()",
    );
    expect(row).toEqual({ checksums: "off", collate: "C" });
    const link = await custom.exec(["readlink", "/var/lib/postgresql/18/docker/pg_wal"]);
    expect(link.output.trim()).toBe("/var/lib/postgresql/wal");
  });

  it("runs /docker-entrypoint-initdb.d in order: executes, sources, decompresses, ignores #initdb-d", async () => {
    const rows = await sql<{ name: string }>("SELECT name FROM init_log ORDER BY seq");
    expect(rows.map((r) => r.name)).toEqual([
      "01-executable.sh ran as its own process for app_owner",
      "02-sourced.sh via docker_process_sql",
      "02-sourced.sh via psql array",
      "03-gzip.sql.gz",
      "04-xz.sql.xz",
      "05-zstd.sql.zst",
      "health check during init: not-healthy",
    ]);
    const stdout = await containerLogText(custom.getId());
    expect(stdout).toContain("/usr/local/bin/docker-entrypoint.sh: running /docker-entrypoint-initdb.d/01-executable.sh");
    expect(stdout).toContain("/usr/local/bin/docker-entrypoint.sh: sourcing /docker-entrypoint-initdb.d/02-sourced.sh");
    expect(stdout).toContain("/usr/local/bin/docker-entrypoint.sh: ignoring /docker-entrypoint-initdb.d/06-ignored.txt");
  });

  it("applies `-c name=value` arguments to the server, over the image's own settings #settings-overridable", async () => {
    const [row] = await sql<{ work_mem: string; senders: string; source: string }>(
      "SELECT current_setting('work_mem') AS work_mem, setting AS senders, source FROM pg_settings WHERE name = 'max_wal_senders'",
    );
    expect(row).toEqual({ work_mem: "12MB", senders: "7", source: "command line" });
  });

  it("lets ALTER SYSTEM override the image's settings: postgresql.auto.conf is read after postgres-ba.conf #settings-overridable", async () => {
    await sql("ALTER SYSTEM SET max_replication_slots = 11");
    try {
      await sql("SELECT pg_reload_conf()");
      const entries = await sql<{ file: string; setting: string }>(
        "SELECT regexp_replace(sourcefile, '.*/', '') AS file, setting FROM pg_file_settings WHERE name = 'max_replication_slots' ORDER BY seqno",
      );
      expect(entries.map((e) => e.file)).toEqual(["postgres-ba.conf", "postgresql.auto.conf"]);
      expect(entries.at(-1)?.setting).toBe("11");
    } finally {
      await sql("ALTER SYSTEM RESET max_replication_slots");
      await sql("SELECT pg_reload_conf()");
    }
  });

  it("runs tini as PID 1, the runtime under it and PostgreSQL as the runtime's child #tini-pid1", async () => {
    const r = await custom.exec([
      "sh",
      "-c",
      'cat /proc/1/comm; ppid=$(awk \'/^PPid:/ {print $2}\' /proc/$(head -1 "$PGDATA/postmaster.pid")/status); tr "\\0" " " < /proc/$ppid/cmdline',
    ]);
    expect(r.exitCode, r.output).toBe(0);
    const [pid1, parent] = r.output.trim().split("\n");
    expect(pid1).toBe("tini");
    // With the V8 flags the image chose for the resident runtime (issue 13's P5).
    const flags = (await custom.exec(["cat", "/usr/local/lib/postgres-ba/node-flags"])).output.trim();
    expect(flags).toContain("--no-opt");
    expect(parent.trim()).toMatch(new RegExp(`^node ${flags} /usr/local/lib/postgres-ba/postgres-ba\\.cjs entrypoint`));
  });

  it("serves TLS, runs as postgres, and archives nothing in drop-in mode", async () => {
    const [row] = await sql<{ ssl: boolean; archive_mode: string }>(
      "SELECT ssl, current_setting('archive_mode') AS archive_mode FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    expect(row).toEqual({ ssl: true, archive_mode: "off" });
    const uid = await custom.exec(["sh", "-c", "awk '/^Uid:/ {print $2}' /proc/$(head -1 \"$PGDATA/postmaster.pid\")/status; id -u postgres"]);
    const [serverUid, postgresUid] = uid.output.trim().split("\n");
    expect(serverUid).toBe(postgresUid);
    const conf = await custom.exec(["test", "-e", "/etc/pgbackrest/pgbackrest.conf"]);
    expect(conf.exitCode).toBe(1);
  });

  it("declares the official image's volume, PGDATA, port and stop signal, and a TCP health check #healthcheck-tcp", async () => {
    const { cli } = await containerEngine();
    const [inspect] = JSON.parse((await $({ quiet: true })`${cli} image inspect ${image}`).stdout);
    const config = inspect.Config;
    // Podman's CLI reports the health check beside Config, Docker's inside it.
    const healthcheck = config.Healthcheck ?? inspect.Healthcheck;
    expect(Object.keys(config.Volumes)).toEqual(["/var/lib/postgresql"]);
    expect(config.Env).toContain("PGDATA=/var/lib/postgresql/18/docker");
    expect(Object.keys(config.ExposedPorts)).toContain("5432/tcp");
    expect(config.StopSignal).toBe("SIGINT");
    expect(healthcheck.Test).toEqual(["CMD", "docker-healthcheck.sh"]);
    expect((await custom.exec(["docker-healthcheck.sh"])).exitCode).toBe(0);
  });

  it("works unchanged under @testcontainers/postgresql's PostgreSqlContainer", async () => {
    await using vanilla = await new PostgreSqlContainer(image).start();
    const client = new pg.Client({ connectionString: vanilla.getConnectionUri() });
    await client.connect();
    const { rows } = await client.query("SELECT current_user AS user, current_database() AS db");
    await client.end();
    expect(rows[0]).toEqual({ user: "test", db: "test" });
  });

  it("accepts connections without a password with POSTGRES_HOST_AUTH_METHOD=trust", async () => {
    await using trusting = await new GenericContainer(image)
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust" })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forHealthCheck())
      .start();
    const [row] = await queryVerified<{ user: string }>(trusting, { user: "postgres", database: "postgres" }, "SELECT current_user AS user");
    expect(row.user).toBe("postgres");
  });

  it("refuses a new database without a password, naming the variable and the fix", async () => {
    const result = await new OneShotContainer(image).withListing("/var/lib/postgresql/18/docker").run();
    expect(result.exitCode).toBe(78);
    expect(result.output).toMatch(
      /POSTGRES_PASSWORD: database is uninitialized and superuser password is not specified\. Fix: set POSTGRES_PASSWORD to a non-empty value/,
    );
    expect(result.listings["/var/lib/postgresql/18/docker"]).toEqual([""]);
  });

  it("refuses data in the pre-18 layout instead of initializing beside it #old-layout-refused", async () => {
    const result = await new OneShotContainer(image)
      .withEnvironment({ POSTGRES_PASSWORD: "pw" })
      .withFile("/var/lib/postgresql/data/PG_VERSION", "17\n")
      .withListing("/var/lib/postgresql/18/docker")
      .run();
    expect(result.exitCode).toBe(73);
    expect(result.output).toMatch(
      /PostgreSQL data exists in \/var\/lib\/postgresql\/data \(old layout or another major version\).*Fix: upgrade that data with pg_upgrade/,
    );
    expect(result.listings["/var/lib/postgresql/18/docker"]).toEqual([""]);
  });

  it("stops cleanly on the stop signal and exits with PostgreSQL's status 0 #clean-stop", async () => {
    const { cli } = await containerEngine();
    await $({ quiet: true })`${cli} stop -t 30 ${custom.getId()}`;
    const exitCode = (await $({ quiet: true })`${cli} inspect --format {{.State.ExitCode}} ${custom.getId()}`).stdout.trim();
    const logs = await containerLogText(custom.getId());
    expect(exitCode).toBe("0");
    expect(logs).toMatch(/received fast shutdown request[\s\S]*database system is shut down[\s\S]*PostgreSQL exited with status 0/);
  });
});
