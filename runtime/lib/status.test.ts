import { describe, expect, it } from "vitest";
import { renderStatus, statusProblems, type Status } from "./status.js";

const healthy: Omit<Status, "problems"> = {
  stanza: "main",
  state: "active",
  repository: { reachable: true },
  latest: {
    full: { label: "20261125-030000F", type: "full", ageSeconds: 3600, sizeBytes: 31_400_000 },
    incr: { label: "20261125-030000F_20261125-033000I", type: "incr", ageSeconds: 1800 },
  },
  archiving: { lastArchivedWal: "000000010000000000000005", lastArchivedAgeSeconds: 30, failedCount: 0, failing: false, waitingSegments: 0 },
  schedule: [{ type: "incr", expression: "*/30 * * * *", next: "2026-11-25T04:00:00.000Z" }],
  replication: { role: "primary", slots: [{ name: "replica1", active: true, retainedBytes: 120_000 }], maxWalSizeBytes: 1024 * 1048576 },
};

describe("statusProblems", () => {
  it("finds none in a healthy state", () => {
    expect(statusProblems(healthy, 90_000)).toEqual([]);
  });

  it("flags a newest backup older than the threshold, failing archiving, no repository, adoption", () => {
    expect(statusProblems(healthy, 1000)).toEqual(["newest backup 20261125-030000F_20261125-033000I is 1800 s old, more than STATUS_MAX_BACKUP_AGE=1000"]);
    expect(
      statusProblems({ ...healthy, archiving: { ...healthy.archiving, failing: true, lastFailedWal: "000000010000000000000006", waitingSegments: 3 } }, 90_000),
    ).toEqual(["WAL archiving is failing (last failed segment 000000010000000000000006, 3 segment(s) waiting in pg_wal)"]);
    expect(statusProblems({ ...healthy, repository: { reachable: false, error: "cannot reach" }, latest: {} }, 90_000)).toEqual([
      "repository unreachable: cannot reach",
    ]);
    expect(statusProblems({ ...healthy, state: "adopted", latest: {} }, 90_000)).toEqual([
      "backups are not initialized for this database: run postgres-ba init-backups",
      "no backup in the repository",
    ]);
  });

  it("flags an inactive slot that keeps more WAL than max_wal_size, not an active or small one", () => {
    const slots = [
      { name: "gone", active: false, retainedBytes: 2_000_000_000 },
      { name: "busy", active: true, retainedBytes: 3_000_000_000 },
      { name: "paused", active: false, retainedBytes: 1000 },
    ];
    expect(statusProblems({ ...healthy, replication: { ...healthy.replication, slots } }, 90_000)).toEqual([
      "replication slot gone is inactive and keeps 2000 MB of WAL in pg_wal (more than max_wal_size); if its replica is gone for good: SELECT pg_drop_replication_slot('gone')",
    ]);
  });
});

describe("statusProblems: the server certificate", () => {
  const now = new Date("2026-11-25T12:00:00Z");
  const tls = (notAfter: string) => ({ certificate: "/var/lib/postgresql/ssl/server.crt", subject: "CN=db, O=Acme", serial: "01AB", notAfter, daysLeft: 0 });

  it("warns within 30 days of expiry, with the date and how to renew without a restart", () => {
    expect(statusProblems({ ...healthy, tls: tls("2026-12-05T12:00:00.000Z") }, 90_000, now)).toEqual([
      "server certificate /var/lib/postgresql/ssl/server.crt (CN=db, O=Acme, serial 01AB) expires on 2026-12-05, in 10 day(s) (less than 30): put a new server.crt and server.key in place, then SELECT pg_reload_conf() (no restart needed)",
    ]);
    expect(statusProblems({ ...healthy, tls: tls("2026-12-25T11:59:00.000Z") }, 90_000, now)).toHaveLength(1);
  });

  it("is quiet with 30 days or more left, or without a certificate summary", () => {
    expect(statusProblems({ ...healthy, tls: tls("2026-12-25T12:00:00.000Z") }, 90_000, now)).toEqual([]);
    expect(statusProblems({ ...healthy, tls: tls("2036-11-25T12:00:00.000Z") }, 90_000, now)).toEqual([]);
    expect(statusProblems(healthy, 90_000, now)).toEqual([]);
  });

  it("says when it has expired, or cannot be read", () => {
    expect(statusProblems({ ...healthy, tls: tls("2026-11-20T00:00:00.000Z") }, 90_000, now)).toEqual([
      expect.stringMatching(
        /^server certificate \/var\/lib\/postgresql\/ssl\/server\.crt \(CN=db, O=Acme, serial 01AB\) expired on 2026-11-20: clients refuse it; /,
      ),
    ]);
    expect(statusProblems({ ...healthy, tls: { certificate: "/ssl/server.crt", error: "EACCES: permission denied" } }, 90_000, now)).toEqual([
      "server certificate /ssl/server.crt cannot be read: EACCES: permission denied",
    ]);
  });

  it("shows the expiry in the report", () => {
    const text = renderStatus({ ...healthy, tls: { ...tls("2026-12-05T12:00:00.000Z"), daysLeft: 10 }, problems: ["p"] });
    expect(text).toContain("TLS: server certificate valid until 2026-12-05 (10 d left)");
  });
});

describe("renderStatus", () => {
  it("reads as a short report", () => {
    expect(renderStatus({ ...healthy, problems: [] })).toBe(
      [
        "stanza main: ok (backups active)",
        "repository: reachable",
        "last full: 20261125-030000F, 60 min ago, 31.4 MB",
        "last diff: none",
        "last incr: 20261125-030000F_20261125-033000I, 30 min ago",
        "WAL archiving: ok; last archived 000000010000000000000005, 30 s ago; 0 failure(s) since start; 0 segment(s) waiting",
        'schedule: incr "*/30 * * * *" next 2026-11-25T04:00:00.000Z',
        "replication: primary; slots: replica1 active, 0.1 MB of WAL kept",
      ].join("\n"),
    );
  });
});

describe("renderMetrics", () => {
  it("exposes status in the exporter's style", async () => {
    const { renderMetrics } = await import("./metrics.js");
    const text = renderMetrics({ ...healthy, problems: [] });
    expect(text).toContain('pgbackrest_stanza_status{stanza="main"} 0');
    expect(text).toContain('pgbackrest_backup_since_last_completion_seconds{stanza="main",backup_type="incr"} 1800');
    expect(text).toContain('pgbackrest_backup_size_bytes{stanza="main",backup_type="full"} 31400000');
    expect(text).not.toContain('backup_type="diff"');
    expect(text).toContain("# TYPE pgbackrest_wal_segments_waiting gauge");
  });
});
