/**
 * HA_MODE=patroni against real parts: etcd (run from the image's ha target) and three members on
 * one network, backing up to the S3 server, in synchronous mode. A writer commits numbered rows
 * and records every id the leader acknowledged; the leader is killed with SIGKILL (no shutdown,
 * its lock is not released); another member becomes a writable leader by itself, holding every
 * acknowledged id; it takes a full backup on its new timeline; the old leader comes back as a
 * replica of the new one and takes no backups.
 */
import { describe, expect } from "vitest";
import { scenario } from "../harness/fixtures.js";
import { HaClusterContainer, pollUntil, type StartedPrimaryContainer } from "../harness/index.js";

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

/** The member names streaming from `leader`, with their sync state. */
async function streaming(leader: StartedPrimaryContainer): Promise<Record<string, string>> {
  const rows = await leader.sql<{ name: string; sync: string }>(
    "SELECT application_name AS name, sync_state AS sync FROM pg_stat_replication WHERE state = 'streaming'",
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.sync]));
}

describe("@ha Patroni elects a leader, fails over by itself when it is killed, and the old leader rejoins #ha-failover", () => {
  it("elects one writable leader, which takes the first full backup; the others stream from it, one synchronously", async ({ cluster }) => {
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
  });

  it("after kill -9 of the leader another member becomes a writable leader by itself, with every acknowledged commit", async ({ cluster }) => {
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

async function memberName(member: StartedPrimaryContainer): Promise<string> {
  return (await member.execOk(["printenv", "SERVER_NAME"])).output.trim();
}
