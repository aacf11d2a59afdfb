/**
 * Alerts reach a real HTTP receiver on the network: a JSON POST when a backup starts, succeeds
 * or fails and when WAL archiving starts failing and recovers, and a GET to the dead man's
 * switch after each successful backup. The URLs hold a token, as real ones do; it appears in no
 * log line, process argument or file the image writes.
 */
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { type DetachedContainer, OneShotContainer, pollUntil, type StartedPrimaryContainer } from "../harness/index.js";

const token = "T0KEN-4f1c9a";
const webhook = `http://hooks:8080/hooks/${token}`;
const ping = `http://hooks:8080/ping/${token}`;

/** Prints one JSON line per request it receives and answers 204. */
const receiverScript = `
require("node:http").createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    console.log(JSON.stringify({ method: req.method, url: req.url, body }));
    res.statusCode = 204;
    res.end();
  });
}).listen(8080, () => console.log("receiver listening"));
`;

interface Received {
  method: string;
  url: string;
  body: string;
}
interface Notice {
  event: string;
  backupType?: string;
  label?: string;
  error?: string;
  stanza: string;
  server: string;
}

let receiver: DetachedContainer;
let db: StartedPrimaryContainer;

// The receiver before the primary: the first backup reports as soon as the primary is up.
it.beforeAll(async ({ bed }) => {
  receiver = await new OneShotContainer(bed.image)
    .withEntrypoint("node")
    .withCommand(["-e", receiverScript])
    .withNetwork(bed.network.getName())
    .withNetworkAlias("hooks")
    .startDetached();
  await pollUntil("the receiver listening", async () => (await receiver.logText()).includes("receiver listening"));
  db = await bed
    .primary(await bed.s3.createBucket("alerts"))
    .withEnvironment({ BACKUP_WEBHOOK_URL_FILE: "/run/secrets/webhook", BACKUP_PING_URL: ping })
    .withCopyContentToContainer([{ content: webhook, target: "/run/secrets/webhook", mode: 0o644 }])
    .start();
});

it.afterAll(async () => {
  await db?.stop({ removeVolumes: true });
  await receiver?.remove();
});

async function received(): Promise<Received[]> {
  return (await receiver.logText())
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Received);
}

async function notices(): Promise<Notice[]> {
  return (await received()).filter((r) => r.method === "POST").map((r) => JSON.parse(r.body) as Notice);
}

/** Waits until a notice matching `match` has arrived, and returns it. */
function waitForNotice(what: string, match: (n: Notice) => boolean, timeoutMs = 120_000): Promise<Notice> {
  return pollUntil(`webhook notice: ${what}`, async () => (await notices()).find(match), { timeoutMs, intervalMs: 1000 });
}

describe("@alerts a webhook hears of every backup and of archiving failing and recovering; a ping follows each success #backup-webhook", () => {
  it("posts backup.started and backup.succeeded for the first full backup, and pings after it #backup-ping", async () => {
    const succeeded = await waitForNotice("first full succeeded", (n) => n.event === "backup.succeeded" && n.backupType === "full");
    const [full] = await db.waitForBackups("full");
    expect(succeeded).toMatchObject({ label: full.label, stanza: "main" });
    // Both ends of the backup (delivered independently, so in no promised order).
    const events = (await notices()).filter((n) => n.backupType === "full").map((n) => n.event);
    expect(events).toEqual(expect.arrayContaining(["backup.started", "backup.succeeded"]));
    const pings = await pollUntil("a ping", async () => {
      const found = (await received()).filter((r) => r.method === "GET" && r.url === `/ping/${token}`);
      return found.length ? found : undefined;
    });
    expect(pings.length).toBeGreaterThanOrEqual(1);
  });

  it("posts backup.failed with pgBackRest's reason, and archiving.failing then archiving.recovered around an S3 outage", async ({ bed }) => {
    await db.waitForBackupsActive();
    await bed.s3.isolate();
    try {
      const r = await db.exec(["postgres-ba", "backup", "incr"]);
      expect(r.exitCode, r.output).not.toBe(0);
      // The command delivered its notice before it exited: a delivery still under way (or given
      // up) then is a line in its output. The receiver's log may show it a moment later.
      expect(r.output).not.toMatch(/not delivered/);
      const failed = await waitForNotice("incr failed", (n) => n.event === "backup.failed" && n.backupType === "incr", 10_000);
      expect(failed.error, r.output).toMatch(/^incr backup failed: .+/);
      await db.sql("CREATE TABLE during_outage AS SELECT g FROM generate_series(1, 1000) g");
      await db.sql("SELECT pg_switch_wal()");
      await waitForNotice("archiving failing", (n) => n.event === "archiving.failing");
    } finally {
      await bed.s3.reconnect();
    }
    // A next segment, as a busy server writes: it wakes PostgreSQL's archiver from its 60 s
    // pause after failures, and the waiting WAL goes first.
    await db.archiveCurrentWal();
    await waitForNotice("archiving recovered", (n) => n.event === "archiving.recovered");
  });

  it("never shows the URLs: not in the log, a process argument, a file the image writes or postgres-ba env #webhook-url-hidden", async () => {
    const logs = await db.logText();
    expect(logs).toMatch(/\[postgres-ba\] backup: full backup \S+ finished/);
    expect(logs).not.toContain(token);
    const processes = await db.execOk(["sh", "-c", "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\"; echo; done"]);
    expect(processes.output).toMatch(/postgres-ba\.cjs entrypoint/);
    expect(processes.output).not.toContain(token);
    const env = (await db.execOk(["postgres-ba", "env"])).output;
    expect(env).toMatch(/^BACKUP_WEBHOOK_URL=<set>/m);
    expect(env).not.toContain(token);
    // Everywhere the image writes; the secret file the user mounted (/run/secrets) is not one of them.
    const files = await db.exec(["sh", "-c", `grep -rlF -- ${token} /etc /var/lib/postgresql /var/log /var/spool /tmp; echo "grep exit $?"`]);
    expect(files.output.trim()).toBe("grep exit 1");
  });
});
