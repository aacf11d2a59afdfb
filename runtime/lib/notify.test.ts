import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseEnv } from "../env/parse.js";
import { archivingNotice, deliveriesSettled, deliveryPolicy, noticeBody, notify, pingAfterBackup } from "./notify.js";

const backup = { PGBACKREST_STANZA: "main", S3_BUCKET: "backups", S3_ACCESS_KEY: "AKIA", S3_SECRET_KEY: "very-secret-value", SERVER_NAME: "db1" };

describe("noticeBody", () => {
  it("carries the event, its details, the stanza, the server and the time", () => {
    const body = JSON.parse(
      noticeBody(
        parseEnv(backup),
        { event: "backup.failed", backupType: "incr", repository: 1, error: "incr backup failed: [049] unable to reach S3" },
        new Date("2026-12-06T05:00:00Z"),
      ),
    );
    expect(body).toEqual({
      event: "backup.failed",
      backupType: "incr",
      repository: 1,
      error: "incr backup failed: [049] unable to reach S3",
      stanza: "main",
      server: "db1",
      at: "2026-12-06T05:00:00.000Z",
    });
  });
});

describe("archivingNotice", () => {
  const ok = { failing: false, lastArchivedWal: "000000010000000000000003", waitingSegments: 0 };
  const failing = { failing: true, lastFailedWal: "000000010000000000000004", waitingSegments: 2 };

  it("says nothing while the state holds, or at first when archiving works", () => {
    expect(archivingNotice(undefined, ok)).toBeUndefined();
    expect(archivingNotice(false, ok)).toBeUndefined();
    expect(archivingNotice(true, failing)).toBeUndefined();
  });

  it("reports failing when it starts (or is already so at first), and the recovery", () => {
    expect(archivingNotice(undefined, failing)).toEqual({ event: "archiving.failing", lastFailedWal: "000000010000000000000004", waitingSegments: 2 });
    expect(archivingNotice(false, failing)?.event).toBe("archiving.failing");
    expect(archivingNotice(true, ok)).toEqual({ event: "archiving.recovered", lastArchivedWal: "000000010000000000000003" });
  });
});

describe("notify, against a real HTTP receiver", () => {
  const received: Array<{ method?: string; url?: string; body: string }> = [];
  /** Status to answer per path: the /broken path always fails. */
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ method: req.method, url: req.url, body });
      res.statusCode = req.url?.startsWith("/broken") ? 500 : 204;
      res.end();
    });
  });
  let base = "";
  const retryDelays = deliveryPolicy.retryDelaysMs;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    deliveryPolicy.retryDelaysMs = [10, 10];
  });

  afterAll(() => {
    deliveryPolicy.retryDelaysMs = retryDelays;
    server.close();
  });

  it("POSTs the notice as JSON, and pings the dead man's switch only when asked to", async () => {
    received.length = 0;
    const env = parseEnv({ ...backup, BACKUP_WEBHOOK_URL: `${base}/hooks/T0KEN`, BACKUP_PING_URL: `${base}/ping/abc` });
    notify(env, { event: "backup.started", backupType: "full", repository: 1 });
    notify(env, { event: "backup.succeeded", backupType: "full", repository: 1, label: "20261206-050000F", seconds: 1.5 });
    await deliveriesSettled(60_000);
    expect(received.map((r) => `${r.method} ${r.url}`).sort()).toEqual(["POST /hooks/T0KEN", "POST /hooks/T0KEN"]);
    pingAfterBackup(env);
    await deliveriesSettled(60_000);
    expect(received.map((r) => `${r.method} ${r.url}`).sort()).toEqual(["GET /ping/abc", "POST /hooks/T0KEN", "POST /hooks/T0KEN"]);
    const events = received.filter((r) => r.method === "POST").map((r) => JSON.parse(r.body).event);
    expect(events.sort()).toEqual(["backup.started", "backup.succeeded"]);
  });

  it("retries a failing receiver, then logs one line that names the event and the status but never the URL", async () => {
    received.length = 0;
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      notify(parseEnv({ ...backup, BACKUP_WEBHOOK_URL: `${base}/broken/T0KEN` }), { event: "backup.failed", backupType: "incr", repository: 1, error: "x" });
      await deliveriesSettled(60_000);
      expect(received).toHaveLength(deliveryPolicy.attempts);
      const lines = stderr.mock.calls.map((c) => String(c[0]));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/\[postgres-ba\] webhook: ERROR: backup\.failed not delivered after 3 attempts \(HTTP 500\)\n$/);
      expect(lines[0]).not.toContain("T0KEN");
    } finally {
      stderr.mockRestore();
    }
  });

  it("logs each delivery still under way when the wait ends, with how far it got, never the URL", async () => {
    // One receiver that takes the connection and never answers; one that fails once, then does the same.
    let failedOnce = false;
    const silent = createServer((req, res) => {
      if (req.url?.startsWith("/flaky") && !failedOnce) {
        failedOnce = true;
        res.statusCode = 500;
        res.end();
      }
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const at = (path: string) => `http://127.0.0.1:${(silent.address() as AddressInfo).port}${path}`;
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      notify(parseEnv({ ...backup, BACKUP_WEBHOOK_URL: at("/hooks/T0KEN") }), { event: "backup.failed", backupType: "incr", repository: 1, error: "x" });
      notify(parseEnv({ ...backup, BACKUP_WEBHOOK_URL: at("/flaky/T0KEN") }), { event: "backup.started", backupType: "incr", repository: 1 });
      await deliveriesSettled(300);
      const lines = stderr.mock.calls.map((c) => String(c[0])).sort();
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/webhook: ERROR: backup\.failed not delivered: cut short when the process exited \(no answer yet\)/);
      expect(lines[1]).toMatch(
        /webhook: ERROR: backup\.started not delivered: cut short when the process exited \(1 failed attempt\(s\), the last: HTTP 500\)/,
      );
      expect(lines.join("")).not.toContain("T0KEN");
    } finally {
      // The deliveries then fail and give up (retries 10 ms apart here) before the next test.
      silent.closeAllConnections();
      silent.close();
      await deliveriesSettled(60_000);
      stderr.mockRestore();
    }
  });

  it("gives up on an unreachable receiver with the error's code, not its message", async () => {
    // A port nothing listens on: one a server had, then closed.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      notify(parseEnv({ ...backup, BACKUP_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/T0KEN` }), { event: "archiving.failing", waitingSegments: 3 });
      await deliveriesSettled(60_000);
      const [line] = stderr.mock.calls.map((c) => String(c[0]));
      expect(line).toMatch(/webhook: ERROR: archiving\.failing not delivered after 3 attempts \(ECONNREFUSED\)/);
      expect(line).not.toContain("T0KEN");
    } finally {
      stderr.mockRestore();
    }
  });
});
