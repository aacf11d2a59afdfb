import { describe, expect } from "vitest";
import { scenarioWithPrimary } from "../harness/fixtures.js";
import { type BackupInfo, noSchedule } from "../harness/index.js";

/** Counts occurrences of a pattern in the container log. */
const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern.source, "g"))?.length ?? 0;

const it = scenarioWithPrimary({
  bucket: "restart",
  configure: (p) =>
    p
      // Nothing scheduled: any backup after the restart would be an unscheduled one.
      .withSchedule(noSchedule)
      .withCopyContentToContainer([
        {
          content: "CREATE TABLE init_runs (at timestamptz DEFAULT now()); INSERT INTO init_runs DEFAULT VALUES;\n",
          target: "/docker-entrypoint-initdb.d/10-record-run.sql",
        },
      ]),
  ready: "started",
});

describe("@restart a restarted primary keeps its data, certificates and stanza", () => {
  let certBefore: string;
  let backupsBefore: BackupInfo[];

  it.beforeAll(async ({ db }) => {
    await db.waitForLog(/schedule: started/);
    backupsBefore = await db.backups();
    await db.sql("CREATE TABLE survivors (id int PRIMARY KEY, note text)");
    await db.sql("INSERT INTO survivors SELECT g, 'row ' || g FROM generate_series(1, 500) g");
    certBefore = (await db.execOk(["cat", "/var/lib/postgresql/ssl/server.crt"])).output;
    await db.restart();
    await db.waitForLog(/schedule: started[\s\S]*schedule: started/);
  });

  it("keeps every row", async ({ db }) => {
    const [row] = await db.sql<{ n: string; last: string }>("SELECT count(*) AS n, max(note) FILTER (WHERE id = 500) AS last FROM survivors");
    expect(row).toEqual({ n: "500", last: "row 500" });
  });

  it("does not run initdb or the initdb.d scripts again", async ({ db }) => {
    const [row] = await db.sql<{ n: string }>("SELECT count(*) AS n FROM init_runs");
    expect(row.n).toBe("1");
    const logs = await db.logText();
    expect(count(logs, /PostgreSQL init process complete; ready for start up\./)).toBe(1);
    expect(logs).toMatch(/init-database: skipped: PostgreSQL Database directory appears to contain a database/);
  });

  it("creates the stanza once and takes no unscheduled backup", async ({ db }) => {
    const logs = await db.logText();
    expect(count(logs, /init-backups: stanza main ready/)).toBe(1);
    expect(logs).toMatch(/bootstrap-backups: skipped: stanza main is active/);
    expect(backupsBefore.map((b) => b.type)).toEqual(["full"]);
    expect((await db.backups()).map((b) => b.label)).toEqual(backupsBefore.map((b) => b.label));
  });

  it("keeps its server certificate", async ({ db }) => {
    expect((await db.execOk(["cat", "/var/lib/postgresql/ssl/server.crt"])).output).toBe(certBefore);
    expect(await db.logText()).toMatch(/ensure-tls: kept existing server certificate/);
  });

  it("still takes backups: a manual incremental references the first full", async ({ db }) => {
    const r = await db.exec(["postgres-ba", "backup", "incr"]);
    expect(r.exitCode, r.output).toBe(0);
    const incr = (await db.backups()).filter((b) => b.type === "incr");
    expect(incr).toHaveLength(1);
    expect(incr[0].prior).toBe(backupsBefore[0].label);
  });
});
