/**
 * HA_MODE=patroni against real parts: etcd (run from the image's ha target) and three members on
 * one network, backing up to the S3 server, in synchronous mode. A writer commits numbered rows
 * and records every id the leader acknowledged; the leader is killed with SIGKILL (no shutdown,
 * its lock is not released); another member becomes a writable leader by itself, holding every
 * acknowledged id; it takes a full backup on its new timeline; the old leader comes back as a
 * replica of the new one and takes no backups. Then, on the same cluster: `postgres-ba promote` on
 * a replica is a planned switchover that loses no acknowledged write; and with etcd stopped past
 * the leader lock's ttl the leader keeps serving (failsafe mode), status says the store is
 * unreachable, and all is well again when etcd is back. Last, the leader is killed while S3 is
 * unreachable: the split-brain fence cannot read the repository, says so and lets the promotion
 * through, and the new timeline's full backup follows S3's return.
 */
import { describe, expect, onTestFailed } from "vitest";
import { scenario } from "../harness/fixtures.js";
import { HaClusterContainer, OneShotContainer, pollUntil, type StartedPrimaryContainer } from "../harness/index.js";

const it = scenario.extend("cluster", { scope: "file" }, async ({ bed }, { onCleanup }) => {
  const cluster = await new HaClusterContainer(bed).withMembers(3).withEnvironment({ HA_SYNCHRONOUS_MODE: "on" }).start();
  onCleanup(() => cluster.stop());
  return cluster;
});

/** Shared by the tests below, which build on each other in order. */
let firstLeader: StartedPrimaryContainer;
let newLeader: StartedPrimaryContainer;
const acknowledged: number[] = [];
let killedAt = 0;

/**
 * The synchronous standby's name as Patroni has it, once every member runs or streams and it lags
 * 0: Patroni fails or hands over only to that member ("candidate name does not match with
 * sync_standby" otherwise, which pg_stat_replication can lag behind) once it finds it caught up.
 */
function syncStandbyCaughtUp(leader: StartedPrimaryContainer): Promise<string> {
  return pollUntil(
    "every member running or streaming, Patroni's synchronous standby caught up",
    async () => {
      const { ha } = JSON.parse((await leader.exec(["postgres-ba", "status", "--json"])).output) as {
        ha: { members: Array<{ name: string; role: string; state: string; lagBytes: number | null }> };
      };
      const sync = ha.members.filter((m) => m.role === "sync_standby");
      const healthy = ha.members.length === 3 && ha.members.every((m) => ["running", "streaming"].includes(m.state));
      return healthy && sync.length === 1 && sync[0].lagBytes === 0 ? sync[0].name : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
}

/** The member names streaming from `leader`, with their sync state. */
async function streaming(leader: StartedPrimaryContainer): Promise<Record<string, string>> {
  const rows = await leader.sql<{ name: string; sync: string }>(
    "SELECT application_name AS name, sync_state AS sync FROM pg_stat_replication WHERE state = 'streaming'",
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.sync]));
}

describe("@ha Patroni elects a leader, fails over by itself when it is killed, and the old leader rejoins #ha-failover", () => {
  it("elects one writable leader, which takes the first full backup; the others stream from it, one synchronously; Patroni's metrics are open to read #ha-patroni-metrics", async ({
    cluster,
  }) => {
    firstLeader = await cluster.leader();
    await firstLeader.waitForBackupsActive();
    expect((await firstLeader.backups()).map((b) => b.type)).toEqual(["full"]);
    const others = cluster.members.filter((m) => m !== firstLeader);
    const names = await pollUntil("both replicas streaming, one of them synchronously", async () => {
      const now = await streaming(firstLeader);
      return Object.keys(now).length === 2 && Object.values(now).includes("sync") ? now : undefined;
    });
    expect(Object.keys(names).sort()).toEqual(await Promise.all(others.map(memberName)).then((n) => n.sort()));
    for (const replica of others) expect((await replica.sql<{ r: boolean }>("SELECT pg_is_in_recovery() AS r"))[0].r).toBe(true);
    // Patroni's own metrics (deploy/kubernetes/monitoring scrapes them): over TLS with the
    // cluster CA, from another member, without a password.
    const leaderName = await memberName(firstLeader);
    const metrics = await others[0].execOk([
      "python3",
      "-c",
      "import ssl, sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], context=ssl.create_default_context(cafile=sys.argv[2])).read().decode())",
      `https://${leaderName}:8008/metrics`,
      "/var/lib/postgresql/ca/ca.crt",
    ]);
    expect(metrics.output).toContain(`patroni_primary{scope="main",name="${leaderName}"} 1`);
  });

  it("after kill -9 of the leader another member becomes a writable leader by itself, with every acknowledged commit", async ({ cluster }) => {
    onTestFailed(async () => console.log(`[ha] the members said:\n${await cluster.logs()}`));
    await firstLeader.sql("CREATE TABLE acked (id integer PRIMARY KEY)");
    const client = await firstLeader.connect();
    // The connection dies with the container: its error is expected, not a test failure.
    client.on("error", () => undefined);
    let writing = true;
    const writer = (async () => {
      for (let id = 1; writing; id++) {
        await client.query("INSERT INTO acked (id) VALUES ($1)", [id]);
        acknowledged.push(id);
      }
    })().catch(() => undefined);
    await pollUntil("200 acknowledged commits", () => acknowledged.length >= 200);
    killedAt = Date.now();
    await cluster.kill(firstLeader);
    writing = false;
    // The writer's last INSERT never returns from a killed server; what it acknowledged is final.
    await Promise.race([writer, new Promise((r) => setTimeout(r, 5000))]);

    newLeader = await cluster.leader(
      90_000,
      cluster.members.filter((m) => m !== firstLeader),
    );
    const fence = (await newLeader.logText()).match(/\[postgres-ba\] ha-pre-promote: .*/g) ?? [];
    expect(fence, "the split-brain fence ran once and let the promotion through").toEqual([
      expect.stringMatching(/promoting from timeline 1; the repository's newest timeline for this cluster is 1$/),
    ]);
    const present = new Set((await newLeader.sql<{ id: number }>("SELECT id FROM acked")).map((r) => r.id));
    const lost = acknowledged.filter((id) => !present.has(id));
    expect(lost, `${lost.length} of ${acknowledged.length} acknowledged ids missing on the new leader`).toEqual([]);
    await newLeader.sql("INSERT INTO acked (id) VALUES (-1)");
    console.log(
      `[ha] failover: ${acknowledged.length} acknowledged commits, all present; writable new leader ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
    );
  });

  it("the new leader takes a full backup on its new timeline in the same stanza", async () => {
    const timeline = (await newLeader.sql<{ tli: string }>("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli"))[0].tli;
    expect(timeline).not.toBe("00000001");
    const backup = await pollUntil(
      `a full backup on timeline ${timeline}`,
      async () => (await newLeader.backups()).find((b) => b.type === "full" && b.archive.start.startsWith(timeline)),
      { timeoutMs: 120_000 },
    );
    expect(backup.timestamp.start * 1000).toBeGreaterThan(killedAt - 1000);
    expect((await newLeader.stanzaInfo())?.status.code).toBe(0);
  });

  it("the old leader comes back as a replica of the new one, with the rows written since, and takes no backups", async ({ cluster }) => {
    const logBefore = (await firstLeader.logText()).length;
    await firstLeader.restart();
    const oldName = await memberName(firstLeader);
    await pollUntil("the old leader streaming from the new one", async () => (await streaming(newLeader))[oldName] !== undefined, { timeoutMs: 120_000 });
    expect((await firstLeader.sql<{ r: boolean }>("SELECT pg_is_in_recovery() AS r"))[0].r).toBe(true);
    await pollUntil("the row written after the failover on the old leader", async () => {
      return (await firstLeader.sql<{ n: string }>("SELECT count(*) AS n FROM acked WHERE id = -1"))[0].n === "1";
    });
    const since = (await firstLeader.logText()).slice(logBefore);
    expect(since).toMatch(/\[postgres-ba\] ha: this member is the replica/);
    expect(since).not.toMatch(/\[postgres-ba\] (backup|bootstrap-backups|schedule):/);
    expect(await cluster.leader(10_000)).toBe(newLeader);
  });
});

describe("@ha-switchover postgres-ba promote on a replica hands the leadership over #ha-switchover", () => {
  it("makes that member the leader with every acknowledged write, and the old leader follows it", async ({ cluster }) => {
    const leader = await cluster.leader();
    // In synchronous mode Patroni hands over only to the synchronous standby (and says so otherwise).
    const syncName = await syncStandbyCaughtUp(leader);
    const names = await Promise.all(cluster.members.map(memberName));
    const target = cluster.members[names.indexOf(syncName)];
    const client = await leader.connect();
    client.on("error", () => undefined);
    const written: number[] = [];
    let failedAt: number | undefined;
    const writer = (async () => {
      for (let id = 100_000; failedAt === undefined; id++) {
        try {
          await client.query("INSERT INTO acked (id) VALUES ($1)", [id]);
          written.push(id);
        } catch {
          failedAt = Date.now();
        }
      }
    })();
    await pollUntil("writes before the switchover", () => written.length >= 50);
    const promote = await target.exec(["postgres-ba", "promote"]);
    expect(promote.exitCode, promote.output).toBe(0);
    expect(promote.output).toMatch(/Successfully switched over to "?member\d"?/);
    expect(promote.output).toMatch(/promoted to a primary on timeline \d+: .*full backup (\S+ )?taken/);
    await Promise.race([writer, new Promise((r) => setTimeout(r, 5000))]);
    failedAt ??= Date.now();
    expect(await cluster.leader()).toBe(target);
    // The split-brain fence let it through at once (a fence that reads a stale timeline blocks until a restartpoint).
    const fence = (await target.logText()).match(/\[postgres-ba\] ha-pre-promote: .*/g) ?? [];
    expect(fence.at(-1), fence.join("\n")).toMatch(/ha-pre-promote: promoting from timeline \d+/);
    expect(
      fence.filter((l) => l.includes("ERROR")),
      fence.join("\n"),
    ).toEqual([]);
    const present = new Set((await target.sql<{ id: number }>("SELECT id FROM acked WHERE id >= 100000")).map((r) => r.id));
    expect(written.filter((id) => !present.has(id))).toEqual([]);
    await target.sql("INSERT INTO acked (id) VALUES (-2)");
    const leaderName = await memberName(leader);
    await pollUntil("the old leader streaming from the new one", async () => (await streaming(target))[leaderName] !== undefined, { timeoutMs: 60_000 });
    newLeader = target;
  });
});

describe("@ha-store-loss without etcd the leader keeps serving while every member answers it (failsafe) #ha-store-loss", () => {
  it("serves writes past the lock's ttl with etcd stopped, says so in status, and recovers when etcd returns", async ({ cluster }) => {
    const leader = await cluster.leader();
    const names = (await Promise.all(cluster.members.map(memberName))).sort();
    // Failsafe holds only once the leader has every member in Patroni's failsafe topology (it
    // asks each of them while etcd is gone); after a switchover that takes a loop or two.
    await pollUntil(
      "every member running and in the failsafe topology",
      async () => {
        const r = await leader.exec(["postgres-ba", "status", "--json"]);
        const { ha } = JSON.parse(r.output) as { ha: { failsafeMembers: string[] | null; members: Array<{ state: string }> } };
        return (
          JSON.stringify(ha.failsafeMembers) === JSON.stringify(names) &&
          ha.members.length === 3 &&
          ha.members.every((m) => ["running", "streaming"].includes(m.state))
        );
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const logsBefore = await Promise.all(cluster.members.map(async (m) => (await m.logText()).length));
    await cluster.etcd.stop(5);
    try {
      const down = await pollUntil(
        "status naming the unreachable store",
        async () => {
          const r = await leader.exec(["postgres-ba", "status", "--json"]);
          const status = JSON.parse(r.output) as { ha: { store: { reachable: boolean } }; problems: string[] };
          return r.exitCode === 2 && !status.ha.store.reachable ? status : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 2000 },
      );
      expect(down.problems.join("\n")).toMatch(/etcd \(etcd:2379\) last answered \d+ s ago/);
      // Past the ttl (20 s) without etcd: still the writable leader.
      await leader.sql("INSERT INTO acked (id) VALUES (-3)").catch(async (e: Error) => {
        // Every member's log since etcd stopped: which answer, or lack of one, made the leader step down.
        throw new Error(`${e.message}; the members said (the leader is ${await memberName(leader)}):\n${await cluster.logs(60, logsBefore)}`);
      });
      expect((await leader.sql<{ r: boolean }>("SELECT pg_is_in_recovery() AS r"))[0].r).toBe(false);
    } finally {
      await cluster.etcd.start();
    }
    await pollUntil(
      "status exit 0 with the store back",
      async () => {
        const r = await leader.exec(["postgres-ba", "status", "--json"]);
        return r.exitCode === 0 ? (JSON.parse(r.output) as { ha: { leader: string } }) : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 2000 },
    );
    expect(await cluster.leader()).toBe(leader);
  });
});

describe("@ha-errors a member whose store does not answer waits, then exits in one line having written nothing #ha-store-unreachable", () => {
  it("exit 68 naming the store and how long it waited; no lock, certificate or data written", async ({ bed, cluster }) => {
    const result = await new OneShotContainer(cluster.image)
      .withNetwork(bed.network.getName())
      .withEnvironment({
        HA_MODE: "patroni",
        HA_ETCD_HOSTS: "etcd-gone:2379",
        HA_STORE_WAIT_SECONDS: "4",
        SERVER_NAME: "late",
        POSTGRES_PASSWORD: "pw",
        REPLICATION_PASSWORD: "rp",
      })
      .withListing("/var/lib/postgresql")
      .run(120_000);
    expect(result.exitCode, result.output).toBe(68);
    expect(result.stderr.trim().split("\n"), result.output).toHaveLength(1);
    expect(result.stderr).toMatch(
      /etcd \(etcd-gone:2379\) did not accept connections within HA_STORE_WAIT_SECONDS=4 \(etcd-gone:2379: \w+\): Patroni can neither lead nor follow without it.*Fix: start the store first/,
    );
    expect(result.stdout).toMatch(/wait-for-store: waiting up to 4 s for etcd \(etcd-gone:2379\)/);
    expect(result.listings["/var/lib/postgresql"].filter((f) => /\.postgres-ba|ssl\/|ca\/ca/.test(f))).toEqual([]);
  });
});

describe("@ha-errors a member that would start a second cluster on the stanza is refused #ha-wrong-scope", () => {
  it("a new member with another HA_SCOPE does not bootstrap a cluster over the stanza's backups, and says why", async ({ bed, cluster }) => {
    const before = await cluster.members[0].stanzaInfo();
    const stray = await new OneShotContainer(cluster.image)
      .withNetwork(bed.network.getName())
      .withEnvironment({
        ...cluster.bucket.env,
        PGBACKREST_STANZA: "main",
        HA_MODE: "patroni",
        HA_ETCD_HOSTS: "etcd:2379",
        HA_SCOPE: "another-cluster",
        SERVER_NAME: "stray",
        POSTGRES_PASSWORD: "pw",
        REPLICATION_PASSWORD: "not-the-clusters",
      })
      .withFile(cluster.bucket.caFile.target, cluster.bucket.caFile.content)
      .withVolume(cluster.caVolume, "/var/lib/postgresql/ca")
      .run(120_000);
    expect(stray.exitCode, stray.output).not.toBe(0);
    expect(stray.output).toMatch(
      /stanza main already holds the backups of a cluster \(system \d+\): bootstrapping here would start a second cluster writing to it\. Fix: give this member the HA_SCOPE/,
    );
    expect((await cluster.members[0].stanzaInfo())?.db).toEqual(before?.db);
  });
});

async function memberName(member: StartedPrimaryContainer): Promise<string> {
  return (await member.execOk(["printenv", "SERVER_NAME"])).output.trim();
}

describe("@ha a failover while S3 is unreachable: the fence lets it through, the new timeline's backup follows S3's return #ha-failover-s3-down", () => {
  it("another member becomes the writable leader with S3 isolated, warning that it could not compare timelines; a full backup on its timeline once S3 answers", async ({
    bed,
    cluster,
  }) => {
    onTestFailed(async () => console.log(`[ha] the members said:\n${await cluster.logs()}`));
    const leader = await cluster.leader();
    const syncName = await syncStandbyCaughtUp(leader);
    await leader.sql("INSERT INTO acked (id) VALUES (-4)");
    const candidates = cluster.members.filter((m) => m !== leader);
    const logsBefore = await Promise.all(candidates.map(async (m) => (await m.logText()).length));
    await bed.s3.isolate();
    let promoted: StartedPrimaryContainer;
    try {
      await cluster.kill(leader);
      promoted = await cluster.leader(90_000, candidates);
      expect(await memberName(promoted)).toBe(syncName);
      const fence = (await promoted.logText()).slice(logsBefore[candidates.indexOf(promoted)]).match(/\[postgres-ba\] ha-pre-promote: .*/g) ?? [];
      expect(fence, "the fence could not read the repository, said so, and let the promotion through").toEqual([
        expect.stringMatching(/WARNING: repository not readable \(.+\); promoting without comparing timelines$/),
      ]);
      await promoted.sql("INSERT INTO acked (id) VALUES (-5)");
      expect((await promoted.sql<{ n: string }>("SELECT count(*) AS n FROM acked WHERE id IN (-4, -5)"))[0].n).toBe("2");
      // The promotion's check and full backup failed (S3 is still away) before S3 returns.
      const since = logsBefore[candidates.indexOf(promoted)];
      await pollUntil(
        "the promotion's backup recorded as failed",
        async () =>
          /\[postgres-ba\] promote: (ERROR: )?promoted to a primary on timeline \d+: .*FAILED: .*retried until it is taken/.test(
            (await promoted.logText()).slice(since),
          ),
        { timeoutMs: 150_000, intervalMs: 1000 },
      );
    } finally {
      await bed.s3.reconnect();
    }
    const timeline = (await promoted.sql<{ tli: string }>("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli"))[0].tli;
    const full = await pollUntil(
      `a full backup on timeline ${timeline}`,
      async () => (await promoted.backups()).find((b) => b.type === "full" && b.archive.start.startsWith(timeline)),
      { timeoutMs: 180_000, intervalMs: 2000 },
    );
    await promoted.waitForLog(
      new RegExp(`bootstrap-backups: full backup ${full.label} taken on timeline ${Number.parseInt(timeline, 16)}, the one the promotion could not take`),
      30_000,
    );
  });
});
