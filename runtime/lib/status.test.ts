import { describe, expect, it } from "vitest";
import { renderStatus, statusProblems, type RepositorySummary, type Status } from "./status.js";

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
  recovery: { pointSeconds: 12, oldestUnarchivedCommit: "2026-11-25T03:59:48.000Z", lastDrill: null },
};

describe("statusProblems", () => {
  it("finds none in a healthy state", () => {
    expect(statusProblems(healthy, { maxBackupAge: 90_000 })).toEqual([]);
  });

  it("flags a newest backup older than the threshold, failing archiving, no repository, adoption", () => {
    expect(statusProblems(healthy, { maxBackupAge: 1000 })).toEqual([
      "newest backup 20261125-030000F_20261125-033000I is 1800 s old, more than STATUS_MAX_BACKUP_AGE=1000",
    ]);
    expect(
      statusProblems(
        { ...healthy, archiving: { ...healthy.archiving, failing: true, lastFailedWal: "000000010000000000000006", waitingSegments: 3 } },
        { maxBackupAge: 90_000 },
      ),
    ).toEqual(["WAL archiving is failing (last failed segment 000000010000000000000006, 3 segment(s) waiting in pg_wal)"]);
    expect(statusProblems({ ...healthy, repository: { reachable: false, error: "cannot reach" }, latest: {} }, { maxBackupAge: 90_000 })).toEqual([
      "repository unreachable: cannot reach",
    ]);
    expect(statusProblems({ ...healthy, state: "adopted", latest: {} }, { maxBackupAge: 90_000 })).toEqual([
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
    expect(statusProblems({ ...healthy, replication: { ...healthy.replication, slots } }, { maxBackupAge: 90_000 })).toEqual([
      "replication slot gone is inactive and keeps 2000 MB of WAL in pg_wal (more than max_wal_size); if its replica is gone for good: SELECT pg_drop_replication_slot('gone')",
    ]);
  });
});

describe("statusProblems: the server certificate", () => {
  const now = new Date("2026-11-25T12:00:00Z");
  const tls = (notAfter: string) => ({ certificate: "/var/lib/postgresql/ssl/server.crt", subject: "CN=db, O=Acme", serial: "01AB", notAfter, daysLeft: 0 });

  it("warns within 30 days of expiry, with the date and how to renew without a restart", () => {
    expect(statusProblems({ ...healthy, tls: tls("2026-12-05T12:00:00.000Z") }, { maxBackupAge: 90_000 }, now)).toEqual([
      "server certificate /var/lib/postgresql/ssl/server.crt (CN=db, O=Acme, serial 01AB) expires on 2026-12-05, in 10 day(s) (less than 30): put a new server.crt and server.key in place, then SELECT pg_reload_conf() (no restart needed)",
    ]);
    expect(statusProblems({ ...healthy, tls: tls("2026-12-25T11:59:00.000Z") }, { maxBackupAge: 90_000 }, now)).toHaveLength(1);
  });

  it("is quiet with 30 days or more left, or without a certificate summary", () => {
    expect(statusProblems({ ...healthy, tls: tls("2026-12-25T12:00:00.000Z") }, { maxBackupAge: 90_000 }, now)).toEqual([]);
    expect(statusProblems({ ...healthy, tls: tls("2036-11-25T12:00:00.000Z") }, { maxBackupAge: 90_000 }, now)).toEqual([]);
    expect(statusProblems(healthy, { maxBackupAge: 90_000 }, now)).toEqual([]);
  });

  it("says when it has expired, or cannot be read", () => {
    expect(statusProblems({ ...healthy, tls: tls("2026-11-20T00:00:00.000Z") }, { maxBackupAge: 90_000 }, now)).toEqual([
      expect.stringMatching(
        /^server certificate \/var\/lib\/postgresql\/ssl\/server\.crt \(CN=db, O=Acme, serial 01AB\) expired on 2026-11-20: clients refuse it; /,
      ),
    ]);
    expect(statusProblems({ ...healthy, tls: { certificate: "/ssl/server.crt", error: "EACCES: permission denied" } }, { maxBackupAge: 90_000 }, now)).toEqual([
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
        "recovery point: the oldest commit not in the repository is 12 s old; last restore drill: none",
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
    expect(text).toContain('pgbackrest_recovery_point_seconds{stanza="main"} 12');
    expect(text).not.toMatch(/^pgbackrest_restore_drill_\w+\{/m);
  });
  it("exposes the last drill, its duration and size only when it passed", async () => {
    const { renderMetrics } = await import("./metrics.js");
    const drill = { finishedAt: "2026-11-25T03:40:00.000Z", ok: true, seconds: 42.5, bytes: 31_400_000, summary: "passed" };
    const passed = renderMetrics({ ...healthy, recovery: { pointSeconds: null, oldestUnarchivedCommit: null, lastDrill: drill }, problems: [] });
    expect(passed).toContain('pgbackrest_restore_drill_success{stanza="main"} 1');
    expect(passed).toContain('pgbackrest_restore_drill_duration_seconds{stanza="main"} 42.5');
    expect(passed).toContain('pgbackrest_restore_drill_size_bytes{stanza="main"} 31400000');
    expect(passed).toContain('pgbackrest_restore_drill_completion_timestamp_seconds{stanza="main"} 1795578000');
    expect(passed).not.toMatch(/^pgbackrest_recovery_point_seconds\{/m);
    const failed = renderMetrics({ ...healthy, recovery: { pointSeconds: 0, oldestUnarchivedCommit: null, lastDrill: { ...drill, ok: false } }, problems: [] });
    expect(failed).toContain('pgbackrest_restore_drill_success{stanza="main"} 0');
    expect(failed).not.toMatch(/^pgbackrest_restore_drill_duration_seconds\{/m);
  });
});

describe("renderStatus, every line of a troubled server", () => {
  const troubled: Status = {
    ...healthy,
    state: "pending",
    repository: { reachable: false, error: "S3 refused the keys" },
    latest: {
      full: { label: "F", type: "full", ageSeconds: 172_800, sizeBytes: 0 },
      diff: { label: "D", type: "diff", ageSeconds: 7200 },
      incr: { label: "I", type: "incr", ageSeconds: 120 },
    },
    archiving: { failedCount: 4, failing: true, lastFailedWal: "000000010000000000000007", waitingSegments: 12 },
    schedule: [
      { type: "full", expression: "0 3 * * 0", next: null },
      { type: "incr", expression: "*/30 * * * *", next: "2026-11-25T04:00:00.000Z" },
    ],
    replication: { role: "standby", slots: [{ name: "old", active: false, retainedBytes: 2_500_000_000 }], maxWalSizeBytes: 1 },
    recovery: { pointSeconds: null, oldestUnarchivedCommit: null, lastDrill: { finishedAt: "2026-11-25T03:40:00.000Z", ok: false, seconds: 3, summary: "x" } },
    tls: { certificate: "/ssl/server.crt", error: "ENOENT" },
    problems: ["one", "two"],
  };

  it("shows what is wrong, with the ages in the unit that reads best", () => {
    expect(renderStatus(troubled)).toBe(
      [
        "stanza main: PROBLEM (backups pending)",
        "repository: UNREACHABLE: S3 refused the keys",
        "last full: F, 2.0 d ago, 0.0 MB",
        "last diff: D, 2.0 h ago",
        "last incr: I, 2 min ago",
        "WAL archiving: FAILING; last archived none yet; 4 failure(s) since start; 12 segment(s) waiting",
        'schedule: full "0 3 * * 0" next never; incr "*/30 * * * *" next 2026-11-25T04:00:00.000Z',
        "replication: standby; slots: old INACTIVE, 2500.0 MB of WAL kept",
        "TLS: server certificate UNREADABLE: ENOENT",
        "recovery point: not measured here; last restore drill: FAILED, 2026-11-25T03:40:00.000Z",
        "problem: one",
        "problem: two",
      ].join("\n"),
    );
  });

  it.for([
    [119, "119 s"],
    [7199, "120 min"],
    [172_799, "48.0 h"],
    [864_000, "10.0 d"],
  ] as const)("shows an age of %d s as %s", ([seconds, shown]) => {
    const text = renderStatus({ ...healthy, latest: { incr: { label: "I", type: "incr", ageSeconds: seconds } }, problems: [] });
    expect(text.split("\n")).toContain(`last incr: I, ${shown} ago`);
  });

  it("lists several slots, separated by semicolons", () => {
    const slots = [
      { name: "a", active: true, retainedBytes: 1_000_000 },
      { name: "b", active: false, retainedBytes: 0 },
    ];
    expect(renderStatus({ ...healthy, replication: { ...healthy.replication, slots }, problems: [] }).split("\n")).toContain(
      "replication: primary; slots: a active, 1.0 MB of WAL kept; b INACTIVE, 0.0 MB of WAL kept",
    );
  });

  it("says off without a schedule and none without slots", () => {
    const lines = renderStatus({ ...healthy, schedule: [], replication: { ...healthy.replication, slots: [] }, problems: [] }).split("\n");
    expect(lines).toContain("schedule: off");
    expect(lines).toContain("replication: primary; slots: none");
  });
});

describe("statusProblems, boundaries", () => {
  it("judges the newest backup, whatever its type, and only when it is strictly older than the limit", () => {
    const latest = {
      full: { label: "F", type: "full", ageSeconds: 5000 },
      diff: { label: "D", type: "diff", ageSeconds: 100 },
      incr: { label: "I", type: "incr", ageSeconds: 3000 },
    };
    expect(statusProblems({ ...healthy, latest }, { maxBackupAge: 100 })).toEqual([]);
    expect(statusProblems({ ...healthy, latest }, { maxBackupAge: 99 })).toEqual(["newest backup D is 100 s old, more than STATUS_MAX_BACKUP_AGE=99"]);
  });

  it("does not add 'no backup' when the repository cannot be read", () => {
    expect(statusProblems({ ...healthy, repository: { reachable: false, error: "x" }, latest: {} }, { maxBackupAge: 100 })).toEqual([
      "repository unreachable: x",
    ]);
  });

  it("flags an inactive slot only beyond max_wal_size", () => {
    const slot = (retainedBytes: number) => ({
      ...healthy,
      replication: { role: "primary" as const, slots: [{ name: "s", active: false, retainedBytes }], maxWalSizeBytes: 1000 },
    });
    expect(statusProblems(slot(1000), { maxBackupAge: 90_000 })).toEqual([]);
    expect(statusProblems(slot(1001), { maxBackupAge: 90_000 })).toHaveLength(1);
  });
});

describe("statusProblems: recovery objectives", () => {
  const drill = {
    finishedAt: "2026-11-25T03:40:00.000Z",
    ok: true,
    seconds: 42.5,
    label: "20261125-030000F",
    bytes: 31_400_000,
    summary: "restore drill passed",
  };
  const at = (pointSeconds: number | null) => ({
    ...healthy,
    recovery: { pointSeconds, oldestUnarchivedCommit: pointSeconds ? "2026-11-25T03:59:00.000Z" : null, lastDrill: null },
  });
  it("holds the recovery point to STATUS_MAX_RPO, when set and measured", () => {
    expect(statusProblems(at(600), { maxBackupAge: 90_000 })).toEqual([]);
    expect(statusProblems(at(60), { maxBackupAge: 90_000, maxRecoveryPoint: 60 })).toEqual([]);
    expect(statusProblems(at(61), { maxBackupAge: 90_000, maxRecoveryPoint: 60 })).toEqual([
      "recovery point: the oldest commit not in the repository yet is 61 s old (2026-11-25T03:59:00.000Z), more than STATUS_MAX_RPO=60",
    ]);
    expect(statusProblems(at(null), { maxBackupAge: 90_000, maxRecoveryPoint: 1 })).toEqual([]);
  });
  it("holds the last drill to STATUS_MAX_RTO; a failed drill is a problem whatever the limit", () => {
    const last = (d: typeof drill) => ({ ...healthy, recovery: { pointSeconds: 0, oldestUnarchivedCommit: null, lastDrill: d } });
    expect(statusProblems(last(drill), { maxBackupAge: 90_000, maxRestoreDrill: 43 })).toEqual([]);
    expect(statusProblems(last(drill), { maxBackupAge: 90_000, maxRestoreDrill: 42 })).toEqual([
      "the last restore drill (2026-11-25T03:40:00.000Z) took 42.5 s to a queryable server, more than STATUS_MAX_RTO=42",
    ]);
    expect(statusProblems(last({ ...drill, ok: false, summary: "restore drill FAILED: restore: ERROR: [055]" }), { maxBackupAge: 90_000 })).toEqual([
      "the last restore drill (2026-11-25T03:40:00.000Z) failed: restore drill FAILED: restore: ERROR: [055]",
    ]);
  });
  it("renders both, or says what there is", () => {
    expect(
      renderStatus({ ...healthy, recovery: { pointSeconds: 12, oldestUnarchivedCommit: "2026-11-25T03:59:48.000Z", lastDrill: drill }, problems: [] }),
    ).toContain(
      "recovery point: the oldest commit not in the repository is 12 s old; last restore drill: 43 s to a queryable server, 31.4 MB, 2026-11-25T03:40:00.000Z",
    );
    expect(renderStatus({ ...healthy, recovery: { pointSeconds: 0, oldestUnarchivedCommit: null, lastDrill: null }, problems: [] })).toContain(
      "recovery point: every commit is in the repository; last restore drill: none",
    );
  });
});

describe("statusProblems and renderStatus: two repositories", () => {
  const both = (second: Partial<RepositorySummary>): Omit<Status, "problems"> => ({
    ...healthy,
    repositories: [
      { index: 1, name: "s3://backups/pgbackrest", reachable: true, latest: healthy.latest },
      { index: 2, name: "/var/lib/pgbackrest-copy", reachable: true, latest: healthy.latest, ...second },
    ],
  });

  it("holds each repository to the rules and names the one that breaks them", () => {
    expect(statusProblems(both({}), { maxBackupAge: 90_000 })).toEqual([]);
    expect(
      statusProblems(both({ reachable: false, error: "the repository /var/lib/pgbackrest-copy cannot be used (x)", latest: {} }), { maxBackupAge: 90_000 }),
    ).toEqual(["repository 2 (/var/lib/pgbackrest-copy) unreachable: the repository /var/lib/pgbackrest-copy cannot be used (x)"]);
    expect(statusProblems(both({ latest: {} }), { maxBackupAge: 90_000 })).toEqual(["no backup in repository 2 (/var/lib/pgbackrest-copy)"]);
    const old = { full: { label: "20261120-030000F", type: "full", ageSeconds: 500_000 } };
    expect(statusProblems(both({ latest: old }), { maxBackupAge: 90_000 })).toEqual([
      "newest backup 20261120-030000F in repository 2 (/var/lib/pgbackrest-copy) is 500000 s old, more than STATUS_MAX_BACKUP_AGE=90000",
    ]);
  });

  it("shows one line per repository", () => {
    const lines = renderStatus({ ...both({ reachable: false, error: "cannot be used", latest: {} }), problems: [] }).split("\n");
    expect(lines).toContain(
      "repository 1 (s3://backups/pgbackrest): reachable; last full 20261125-030000F, 60 min ago, 31.4 MB; last diff none; last incr 20261125-030000F_20261125-033000I, 30 min ago",
    );
    expect(lines).toContain("repository 2 (/var/lib/pgbackrest-copy): UNREACHABLE: cannot be used");
    const unmeasured = renderStatus({ ...healthy, recovery: { ...healthy.recovery, pointSeconds: null, error: "pg_waldump exited 1: x" }, problems: [] });
    expect(unmeasured).toMatch(/^recovery point: UNKNOWN \(pg_waldump exited 1: x\); last restore drill: none$/m);
    const withPoints = renderStatus({ ...both({ recoveryPointSeconds: 0 }), problems: [] });
    expect(withPoints).toMatch(/^repository 2 \(\/var\/lib\/pgbackrest-copy\): reachable; .*; recovery point 0 s$/m);
    expect(lines.some((l) => l.startsWith("last full:"))).toBe(false);
  });
});
