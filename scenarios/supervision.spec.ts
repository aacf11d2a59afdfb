import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { type DetachedContainer, OneShotContainer, pollUntil } from "../harness/index.js";

/**
 * Everything after PostgreSQL starts is optional and must never take it down. A container that
 * shares its network namespace with a "neighbour" holding the metrics port is the fault: the
 * metrics service cannot bind, is logged and retried, and the server keeps serving (same
 * postmaster) until the port is free and metrics appear. PostgreSQL's own port in use, known
 * before anything starts, is a configuration error instead.
 */
describe("@supervision nothing optional can take PostgreSQL down", () => {
  let neighbour: DetachedContainer;
  let db: DetachedContainer;
  let postmasterPid: string;
  // Holds :9187 until SIGUSR2, then lets it go while it keeps the network namespace alive.
  const holder =
    "require('fs').writeFileSync('/tmp/holder.pid',String(process.pid));const s=require('net').createServer();s.listen(9187,'0.0.0.0');process.on('SIGUSR2',()=>s.close());process.on('SIGTERM',()=>process.exit(0));setInterval(()=>{},1<<30);";
  const psql = async (sql: string) => {
    const r = await db.exec(["psql", "-h", "/var/run/postgresql", "-U", "postgres", "-Atc", sql]);
    if (r.exitCode !== 0) throw new Error(`psql exited ${r.exitCode}: ${r.output}`);
    return r.output.trim();
  };
  const pid = async () => (await db.exec(["head", "-1", "/var/lib/postgresql/18/docker/postmaster.pid"])).output.trim();

  it.beforeAll(async ({ bed }) => {
    const bucket = await bed.s3.createBucket("supervision");
    neighbour = await new OneShotContainer(bed.image).withCommand(["node", "-e", holder]).withNetwork(bed.network.getName()).startDetached();
    await pollUntil("the neighbour holds :9187", async () => (await neighbour.exec(["cat", "/tmp/holder.pid"])).exitCode === 0);
    db = await new OneShotContainer(bed.image)
      .withNetwork(`container:${neighbour.id}`)
      .withEnvironment({
        ...bucket.env,
        PGBACKREST_STANZA: "main",
        POSTGRES_PASSWORD: "supervision-pw",
        METRICS_PORT: "9187",
        BACKUP_SCHEDULE_INCR: "off",
        BACKUP_SCHEDULE_DIFF: "off",
      })
      .withFile(bucket.caFile.target, bucket.caFile.content)
      .startDetached();
    // TCP, not the socket: the socket also answers during initdb's temporary server, whose
    // postmaster is not the one that serves afterwards.
    await pollUntil("the server accepts TCP connections", async () => (await db.exec(["pg_isready", "-h", "127.0.0.1", "-q"])).exitCode === 0, {
      timeoutMs: 120_000,
    });
    postmasterPid = await pid();
  });

  it.afterAll(async () => {
    await db?.remove();
    await neighbour?.remove();
  });

  it("a metrics port in use is logged and retried while PostgreSQL serves on, with the same postmaster #supervision", async () => {
    const logs = await pollUntil(
      "the metrics service's second failure",
      async () => {
        const text = await db.logText();
        return /metrics: ERROR: failed \(attempt 2\): listen EADDRINUSE/.test(text) ? text : undefined;
      },
      { timeoutMs: 120_000 },
    );
    expect(logs).toMatch(/metrics: ERROR: failed \(attempt 1\): listen EADDRINUSE: address already in use 0\.0\.0\.0:9187; retrying in 2 s/);
    expect(logs).not.toMatch(/unhandled rejection|uncaught exception/);
    await psql("CREATE TABLE still_writable AS SELECT 1 AS id");
    expect(await pid()).toBe(postmasterPid);
  });

  it("once the port is free, the retry serves /metrics", async () => {
    const freed = await neighbour.exec(["sh", "-c", 'kill -USR2 "$(cat /tmp/holder.pid)"']);
    expect(freed.exitCode, freed.output).toBe(0);
    const body = await pollUntil(
      "/metrics served after the port was freed",
      async () => {
        const r = await db.exec(["node", "-e", "fetch('http://127.0.0.1:9187/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))"]);
        return r.exitCode === 0 && r.output.includes("pgbackrest_stanza_status") ? r.output : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    expect(body).toMatch(/pgbackrest_repository_reachable\{stanza="main"\} 1/);
    expect(await pid()).toBe(postmasterPid);
  });

  it("PostgreSQL's own port in use is a configuration error before anything is touched: exit 78, one line #pgport-in-use", async ({ bed }) => {
    // The same network namespace: 5432 is taken by the server above.
    const second = await new OneShotContainer(bed.image)
      .withNetwork(`container:${neighbour.id}`)
      .withEnvironment({ POSTGRES_PASSWORD: "x" })
      .withListing("/var/lib/postgresql")
      .run(60_000);
    expect(second.exitCode, second.output).toBe(78);
    const errors = second.output.split("\n").filter((l) => l.includes("ERROR"));
    expect(errors).toEqual([
      expect.stringMatching(
        /check-ports-free: ERROR: POSTGRES_PORT=5432: 0\.0\.0\.0:5432 is already in use in this container's network \(EADDRINUSE\)\. Fix: choose a free port/,
      ),
    ]);
    // Only what the image itself ships (the empty PGDATA directory): no data, no lock, no records.
    expect(second.listings["/var/lib/postgresql"].filter((entry) => entry.startsWith("18/docker/") || entry.includes(".postgres-ba"))).toEqual([]);
    expect(second.listings["/var/lib/postgresql"]).toContain("18/docker");
    expect(await pid()).toBe(postmasterPid);
  });
});
