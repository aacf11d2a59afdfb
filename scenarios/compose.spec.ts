import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { $ } from "zx";
import { ComposeStack, type StartedComposeStack } from "../harness/compose.js";
import { containerEngine, pollUntil, productImage } from "../harness/index.js";
import { s3ServerImage } from "../harness/s3.js";

interface StatusJson {
  state: string;
  latest: { full?: { label: string } };
  repository: { reachable: boolean };
}

/** A port nothing listens on right now, for the stack's published port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/**
 * The README's compose quick start, run by docker-compose against the test engine: compose.yaml
 * as published, with the project's s3rver in place of MinIO and mc (which cannot be pulled here).
 */
describe("@compose the compose stack: quick start, first backup, secrets from files, the documented restore", () => {
  let stack: StartedComposeStack;
  const dotEnv = "POSTGRES_USER=app\nPOSTGRES_DB=appdb\n";
  const secret = (name: string) => readFileSync(stack.path(join("secrets", name)), "utf8").trim();
  const status = async () => {
    const r = await stack.exec("postgres", ["postgres-ba", "status", "--json"]);
    return r.exitCode === 0 || r.exitCode === 2 ? (JSON.parse(r.stdout) as StatusJson) : undefined;
  };
  /** A client over TLS verified against the stack's CA (the postgres_ca volume). */
  const connect = async () => {
    const ca = await stack.exec("postgres", ["cat", "/var/lib/postgresql/ca/ca.crt"]);
    const client = new pg.Client({
      host: "localhost",
      port: await stack.hostPort("postgres", 5432),
      user: "app",
      database: "appdb",
      password: secret("postgres_password"),
      ssl: { ca: ca.stdout, rejectUnauthorized: true, servername: "localhost" },
    });
    await client.connect();
    return client;
  };
  const query = async (text: string) => {
    const client = await connect();
    try {
      return (await client.query(text)).rows;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    stack = await new ComposeStack()
      .withOverride(join(import.meta.dirname, "fixtures", "compose.s3rver.yaml"))
      .withEnvironment({
        POSTGRES_BA_IMAGE: await productImage(),
        S3RVER_IMAGE: await s3ServerImage(),
        POSTGRES_PUBLISHED_PORT: String(await freePort()),
        REPLICA_PUBLISHED_PORT: String(await freePort()),
      })
      .withDotEnv(dotEnv)
      .up();
  });

  afterAll(async () => {
    await stack?.down();
  });

  it("starts the primary, which takes its first full backup into the stack's bucket #compose-quick-start", async () => {
    const active = await pollUntil(
      "first full backup listed by postgres-ba status",
      async () => {
        // The runtime records "active" after pgBackRest's backup command exits, which is after
        // the full is listed (the command still expires old backups then).
        const s = await status();
        return s?.state === "active" ? s : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 2000 },
    );
    expect(active).toMatchObject({ repository: { reachable: true } });
    expect(active.latest.full).toBeDefined();
    await query("CREATE TABLE orders (id int PRIMARY KEY, item text)");
    await query("INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 500) g");
    const [{ segment }] = await query("SELECT pg_walfile_name(pg_current_wal_lsn()) AS segment");
    await query("SELECT pg_switch_wal()");
    await pollUntil(
      `WAL segment ${segment} archived`,
      async () => {
        const [row] = await query("SELECT last_archived_wal AS last FROM pg_stat_archiver");
        return row.last !== null && row.last.slice(0, 24) >= segment;
      },
      { timeoutMs: 60_000 },
    );
  });

  it("reads every secret from a file: none in a container's environment or any process's arguments #compose-secrets-from-files", async () => {
    const secrets = ["postgres_password", "replication_password", "access_key", "secret_key"].map(secret);
    expect(secrets.every((s) => /^[0-9a-f]{48}$/.test(s))).toBe(true);
    const { cli } = await containerEngine();
    for (const service of ["postgres", "minio", "createbucket", "s3-tls"]) {
      const id = (await stack.compose(["ps", "-a", "-q", service])).trim();
      expect(id, `${service} container`).not.toBe("");
      const config = (await $({ quiet: true })`${cli} inspect --format ${"{{json .Config.Env}} {{json .Args}}"} ${id}`).stdout;
      expect(config).toMatch(/PATH=/);
      for (const s of secrets) expect(config, `${service}'s environment and arguments`).not.toContain(s);
    }
    const args = await stack.exec("postgres", ["sh", "-c", "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\" 2>/dev/null; echo; done; true"]);
    expect(args.stdout).toMatch(/postgres: .*checkpointer/);
    for (const s of secrets) expect(args.stdout).not.toContain(s);
  });

  it("adds a streaming replica with the replica profile, over TLS, through its slot #compose-replica-profile", async () => {
    await stack.compose(["--profile", "replica", "up", "-d", "--no-build", "replica"]);
    const [streaming] = await pollUntil(
      "replica1 streaming from postgres",
      async () => {
        const rows = await query(
          "SELECT r.application_name, r.state, s.slot_name, t.ssl FROM pg_stat_replication r JOIN pg_stat_ssl t ON t.pid = r.pid LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE r.state = 'streaming'",
        );
        return rows.length ? rows : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 2000 },
    );
    expect(streaming).toEqual({ application_name: "replica1", state: "streaming", slot_name: "replica1", ssl: true });
    const count = await pollUntil("orders replayed on the replica", async () => {
      const r = await stack.exec("replica", ["psql", "-U", "app", "-d", "appdb", "-tAc", "SELECT count(*) FROM orders"]);
      return r.stdout.trim() === "500" ? r.stdout.trim() : undefined;
    });
    expect(count).toBe("500");
    await stack.compose(["--profile", "replica", "rm", "-s", "-f", "replica"]);
  });

  it("brings every row back by the README's restore: volume removed, RESTORE_FROM_BACKUP=true in .env #compose-restore", async () => {
    await stack.compose(["stop", "postgres"]);
    await stack.compose(["rm", "-f", "postgres"]);
    const { cli } = await containerEngine();
    await $({ quiet: true })`${cli} volume rm ${`${stack.project}_postgres_data`}`;
    writeFileSync(stack.path(".env"), `${dotEnv}RESTORE_FROM_BACKUP=true\n`);
    await stack.compose(["up", "-d", "--no-build", "postgres"]);
    const rows = await pollUntil(
      "restored server answering",
      async () => {
        try {
          return await query("SELECT count(*)::int AS n, pg_is_in_recovery() AS recovery FROM orders");
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 180_000, intervalMs: 2000 },
    );
    expect(rows).toEqual([{ n: 500, recovery: false }]);
  });
});
