/**
 * What the official image's public test suite (docker-library/official-images test/tests:
 * postgres-basics, postgres-initdb, and the global override-cmd, utc, no-hard-coded-passwords)
 * checks for postgres, re-checked with our own harness; plus the rest of the official contract
 * users hit: any superuser and database name, PGPORT, docker-ensure-initdb.sh and
 * docker-enforce-initdb.sh, and a docker-entrypoint.sh that scripts can source.
 */
import { GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import { beforeAll, describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import {
  connectVerified,
  OneShotContainer,
  pollUntil,
  productImage,
  queryVerified,
  removeVolume,
  type Credentials,
  type StartedPrimaryContainer,
} from "../harness/index.js";

const pgdata = "/var/lib/postgresql/18/docker";
/** The names postgres-basics and postgres-initdb use. */
const spaced: Credentials = { user: "my cool postgres user", password: "my cool postgres password", database: "my cool postgres database" };
/**
 * Spaces, quotes and non-ASCII, which must reach initdb, psql, the health check and pgBackRest
 * intact. Quotes only in the database name: PostgreSQL cannot bootstrap a superuser named with
 * " $ ' or \ (refused, below).
 */
const odd: Credentials = { user: "ädmin of the café ☕", password: "pa ss 'wörd\"", database: `café 'menu' "du jour" ☕` };

const officialEnv = (c: Credentials): Record<string, string> => ({ POSTGRES_USER: c.user, POSTGRES_PASSWORD: c.password!, POSTGRES_DB: c.database });

/** A server in drop-in mode, ready when the image's own health check says so. */
function server(image: string, env: Record<string, string>): GenericContainer {
  return new GenericContainer(image).withEnvironment(env).withExposedPorts(5432).withWaitStrategy(Wait.forHealthCheck()).withStartupTimeout(120_000);
}

describe("@conformance the official image's test suite and contract, re-checked", () => {
  let image: string;

  beforeAll(async () => {
    image = await productImage();
  });

  describe("postgres-basics and postgres-initdb: a superuser and a database named with spaces", () => {
    let db: StartedTestContainer;

    beforeAll(async () => {
      db = await server(image, officialEnv(spaced))
        .withCopyContentToContainer([
          {
            content: "CREATE TABLE seeded (id int, word text);\nINSERT INTO seeded VALUES (1, 'dropped'), (2, 'kept');\nDELETE FROM seeded WHERE id = 1;\n",
            target: "/docker-entrypoint-initdb.d/seed.sql",
            mode: 0o644,
          },
        ])
        .start();
    });

    it.afterAll(async () => {
      await db?.stop({ removeVolumes: true });
    });

    it("creates a table, inserts, deletes and selects over TCP as that superuser in that database #spaced-names", async () => {
      const client = await connectVerified(db, spaced);
      try {
        const count = async () => Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM probe")).rows[0].n);
        const [who] = (await client.query<{ user: string; db: string }>("SELECT current_user AS user, current_database() AS db")).rows;
        expect(who).toEqual({ user: spaced.user, db: spaced.database });
        await client.query("CREATE TABLE probe (a int, b int, c varchar(255))");
        expect(await count()).toBe(0);
        await client.query("INSERT INTO probe VALUES (1, 2, 'hello')");
        await client.query("INSERT INTO probe VALUES (2, 3, 'goodbye!')");
        expect(await count()).toBe(2);
        await client.query("DELETE FROM probe WHERE a = 1");
        const { rows } = await client.query<{ c: string }>("SELECT c FROM probe");
        expect(rows).toEqual([{ c: "goodbye!" }]);
        await client.query("DROP TABLE probe");
      } finally {
        await client.end();
      }
    });

    it("ran /docker-entrypoint-initdb.d/*.sql in that database", async () => {
      const rows = await queryVerified<{ word: string }>(db, spaced, "SELECT word FROM seeded");
      expect(rows).toEqual([{ word: "kept" }]);
    });

    it("has JIT available (the base image's LLVM)", async () => {
      const client = await connectVerified(db, spaced);
      try {
        await client.query("SET jit = on");
        const { rows } = await client.query<{ available: boolean }>("SELECT pg_jit_available() AS available");
        expect(rows[0].available).toBe(true);
      } finally {
        await client.end();
      }
    });
  });

  it("PGPORT=5433 moves the server, the health check and the runtime's own connections #pgport", async () => {
    const creds: Credentials = { user: "postgres", password: "pw", database: "postgres" };
    // Healthy needs the runtime's readiness (its own connections) and pg_isready on the port.
    // 5432 stays published too: Podman lists the image's EXPOSE among the port bindings, and
    // testcontainers waits for every listed port to be bound.
    await using db = await server(image, { POSTGRES_PASSWORD: creds.password!, PGPORT: "5433" }).withExposedPorts(5433).start();
    const client = await connectVerified(db, creds, 5433);
    try {
      const { rows } = await client.query<{ port: number }>("SELECT inet_server_port() AS port");
      expect(rows[0].port).toBe(5433);
    } finally {
      await client.end();
    }
    expect((await db.exec(["pg_isready", "-h", "127.0.0.1", "-p", "5432"])).exitCode).not.toBe(0);
  });

  it("override-cmd: runs the command it is given instead of the server", async () => {
    const hello = `Hello world-${process.pid}-${Date.now()}`;
    const echoed = await new OneShotContainer(image).withCommand(["echo", hello]).run();
    expect({ exitCode: echoed.exitCode, output: echoed.output.trim() }).toEqual({ exitCode: 0, output: hello });
    const version = await new OneShotContainer(image).withCommand(["postgres", "--version"]).run();
    expect(version.exitCode).toBe(0);
    expect(version.output.trim()).toMatch(/^postgres \(PostgreSQL\) 18\.\d+/);
  });

  it("utc: the container's clock is in UTC", async () => {
    const date = await new OneShotContainer(image).withEntrypoint("date").withCommand(["+%Z"]).run();
    expect({ exitCode: date.exitCode, output: date.output.trim() }).toEqual({ exitCode: 0, output: "UTC" });
  });

  it("no-hard-coded-passwords: no account has a password hash, root's is not empty", async () => {
    const r = await new OneShotContainer(image)
      .withUser("0:0")
      .withEntrypoint("sh")
      .withCommand(["-c", "cut -d: -f1,2 /etc/passwd; echo ---; cut -d: -f1,2 /etc/shadow 2>/dev/null || true"])
      .run();
    expect(r.exitCode).toBe(0);
    const [passwd, shadow] = r.output.split("---\n").map(
      (part) =>
        new Map(
          part
            .split("\n")
            .filter(Boolean)
            .map((l) => [l.split(":")[0], l.split(":")[1] ?? ""]),
        ),
    );
    // The effective password: /etc/shadow's when /etc/passwd says "x".
    const effective = [...passwd].map(([user, pass]) => [user, pass === "x" && shadow?.has(user) ? shadow.get(user)! : pass] as const);
    expect(effective.length).toBeGreaterThan(1);
    expect(effective.filter(([, pass]) => pass.startsWith("$"))).toEqual([]);
    expect(effective.find(([user]) => user === "root")?.[1]).not.toBe("");
  });

  it("refuses a superuser name PostgreSQL cannot bootstrap (a quote) with one line, before initdb", async () => {
    const r = await new OneShotContainer(image).withEnvironment({ POSTGRES_USER: "o'brien", POSTGRES_PASSWORD: "pw" }).withListing(pgdata).run();
    expect(r.exitCode).toBe(78);
    expect(
      r.output
        .trim()
        .split("\n")
        .filter((l) => /ERROR|configuration error/.test(l)),
    ).toEqual([expect.stringMatching(/^postgres-ba: configuration error: POSTGRES_USER="o'brien": contains ', .*Fix: /)]);
    expect(r.listings[pgdata]).toEqual([""]);
  });

  describe("docker-ensure-initdb.sh and docker-enforce-initdb.sh on one volume, names with spaces, quotes and non-ASCII", () => {
    const volume = `conformance-initdb-${process.pid}-${Date.now()}`;
    const oneShot = () => new OneShotContainer(image).withVolume(volume, "/var/lib/postgresql").withEnvironment(officialEnv(odd));

    it.afterAll(async () => {
      await removeVolume(volume);
    });

    it("ensure initializes an empty PGDATA (initdb, TLS files, initdb.d) and exits 0 with no server left running #ensure-initdb", async () => {
      const r = await oneShot()
        .withEntrypoint("docker-ensure-initdb.sh")
        .withFile(
          "/docker-entrypoint-initdb.d/10-table.sql",
          "CREATE TABLE init_steps (seq serial, step text);\nINSERT INTO init_steps (step) VALUES ('10-table.sql');\n",
        )
        // Not executable: sourced, so it calls the entrypoint's function with the quoted name as a psql variable.
        .withFile(
          "/docker-entrypoint-initdb.d/20-sourced.sh",
          `docker_process_sql --set step="20-sourced.sh as $POSTGRES_USER" <<< "INSERT INTO init_steps (step) VALUES (:'step');"\n`,
        )
        .withListing(pgdata)
        .withListing("/var/lib/postgresql/ssl")
        .run();
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).toContain("/usr/local/bin/docker-entrypoint.sh: sourcing /docker-entrypoint-initdb.d/20-sourced.sh");
      expect(r.listings[pgdata]).toContain("PG_VERSION");
      expect(r.listings[pgdata]).not.toContain("postmaster.pid");
      expect(r.listings["/var/lib/postgresql/ssl"]).toEqual(expect.arrayContaining(["server.crt", "server.key", "root.crt"]));
    });

    it("ensure on the initialized PGDATA does nothing and exits 0", async () => {
      const r = await oneShot().withEntrypoint("docker-ensure-initdb.sh").run();
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output.trim().split("\n")).toEqual([expect.stringMatching(/ensure-initdb: skipped: PGDATA .* already holds a database/)]);
    });

    it("enforce refuses the initialized PGDATA: non-zero exit, one line", async () => {
      const r = await oneShot().withEntrypoint("docker-enforce-initdb.sh").run();
      expect(r.exitCode).not.toBe(0);
      expect(r.output.trim().split("\n")).toEqual([expect.stringMatching(/ERROR: PGDATA .* already holds a database .*Fix: /)]);
    });

    it("docker-entrypoint.sh, sourced, defines the official functions and starts nothing itself #sourced-entrypoint", async () => {
      const script = [
        "source /usr/local/bin/docker-entrypoint.sh",
        "docker_setup_env",
        'echo "exists=$DATABASE_ALREADY_EXISTS"',
        "docker_temp_server_start",
        `docker_process_sql <<< "INSERT INTO init_steps (step) VALUES ('sourced entrypoint');"`,
        "docker_process_sql --tuples-only --no-align <<< 'SELECT current_user, current_database(), count(*) FROM init_steps;'",
        "docker_temp_server_stop",
      ].join("\n");
      const r = await new OneShotContainer(image)
        .withVolume(volume, "/var/lib/postgresql")
        .withUser("postgres")
        .withEntrypoint("bash")
        .withCommand(["-c", script])
        // POSTGRES_DB from its *_FILE form: file_env reads it.
        .withEnvironment({ POSTGRES_USER: odd.user, POSTGRES_DB_FILE: "/run/secrets/db" })
        .withFile("/run/secrets/db", `${odd.database}\n`)
        .run();
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).toContain("exists=true");
      expect(r.output).toContain(`${odd.user}|${odd.database}|3`);
      expect(r.output).not.toContain("[postgres-ba]");
    });

    it("the container then starts that database as it is, healthy, for that superuser", async () => {
      await using db = await server(image, officialEnv(odd))
        .withBindMounts([{ source: volume, target: "/var/lib/postgresql", mode: "rw" }])
        .start();
      const rows = await queryVerified<{ who: string; db: string; step: string }>(
        db,
        odd,
        "SELECT current_user AS who, current_database() AS db, step FROM init_steps ORDER BY seq",
      );
      expect(rows).toEqual([
        { who: odd.user, db: odd.database, step: "10-table.sql" },
        { who: odd.user, db: odd.database, step: `20-sourced.sh as ${odd.user}` },
        { who: odd.user, db: odd.database, step: "sourced entrypoint" },
      ]);
    });
  });

  describe("backups and status for a superuser named with spaces and non-ASCII", () => {
    let db: StartedPrimaryContainer;

    it.beforeAll(async ({ bed }) => {
      db = await bed
        .primary(await bed.s3.createBucket("conformance"))
        .withUsername(odd.user)
        .withPassword(odd.password!)
        .withDatabase(odd.database)
        .start();
    });

    it.afterAll(async () => {
      await db?.stop({ removeVolumes: true });
    });

    it("creates the stanza and takes the first full backup as that superuser (pg1-user)", async () => {
      const [full] = await db.waitForBackups("full", 1);
      expect(full.prior).toBeNull();
      const [row] = await db.sql<{ who: string; db: string }>("SELECT current_user AS who, current_database() AS db");
      expect(row).toEqual({ who: odd.user, db: odd.database });
    });

    it("postgres-ba status reads the server as that superuser", async () => {
      // "active" is recorded once pgBackRest's backup command exits, a moment after the full is listed.
      const status = await pollUntil("status active", async () => {
        const { json } = await db.statusJson<{
          state: string;
          repository: { reachable: boolean };
          replication: { role: string };
          latest: { full?: unknown };
        }>();
        return json.state === "active" ? json : undefined;
      });
      expect({ state: status.state, reachable: status.repository.reachable, role: status.replication.role }).toEqual({
        state: "active",
        reachable: true,
        role: "primary",
      });
      expect(status.latest.full).toBeDefined();
    });
  });
});
