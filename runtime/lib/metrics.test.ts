import { describe, expect, it } from "vitest";
import { cachedStatus, renderMetrics } from "./metrics.js";
import type { Status } from "./status.js";

describe("cachedStatus", () => {
  it("gathers once for scrapes that arrive together and reuses the result until it is maxAgeMs old", async () => {
    let gathered = 0;
    let clock = 0;
    const status = cachedStatus(
      async () => ({ gathered: ++gathered }) as unknown as Status,
      1000,
      () => clock,
    );
    await Promise.all([status(), status(), status()]);
    expect(gathered).toBe(1);
    clock = 999;
    await status();
    expect(gathered).toBe(1);
    clock = 1000;
    await status();
    expect(gathered).toBe(2);
  });

  it("does not keep a failure: the next scrape gathers again", async () => {
    let attempts = 0;
    const status = cachedStatus(
      async () => {
        if (++attempts === 1) throw new Error("S3 unreachable");
        return {} as Status;
      },
      1000,
      () => 0,
    );
    await expect(status()).rejects.toThrow("S3 unreachable");
    await expect(status()).resolves.toEqual({});
    expect(attempts).toBe(2);
  });
});

describe("renderMetrics: each repository", () => {
  it("reports each repository's reachability and newest backups with its repo_key", () => {
    const status = {
      stanza: "main",
      problems: ["repository 1 (s3://b/pgbackrest) unreachable: x"],
      repository: { reachable: false },
      latest: { full: { label: "F2", type: "full", ageSeconds: 60 } },
      repositories: [
        { index: 1, name: "s3://b/pgbackrest", reachable: false, error: "x", latest: {} },
        {
          index: 2,
          name: "/var/lib/pgbackrest-copy",
          reachable: true,
          latest: { full: { label: "F2", type: "full", ageSeconds: 60 } },
          recoveryPointSeconds: 0,
        },
      ],
      archiving: { failedCount: 3, failing: true, waitingSegments: 2 },
      replication: { role: "primary", slots: [], maxWalSizeBytes: 1 },
      recovery: { pointSeconds: null, oldestUnarchivedCommit: null, lastDrill: null },
      schedule: [],
      state: "active",
    } as unknown as Status;
    const text = renderMetrics(status);
    expect(text).toContain('pgbackrest_repo_reachable{stanza="main",repo_key="1"} 0\npgbackrest_repo_reachable{stanza="main",repo_key="2"} 1\n');
    expect(text).toContain('pgbackrest_repo_backup_since_last_completion_seconds{stanza="main",repo_key="2",backup_type="full"} 60\n');
    expect(text).not.toMatch(/repo_key="1",backup_type/);
    expect(text).toContain('pgbackrest_repo_recovery_point_seconds{stanza="main",repo_key="2"} 0\n');
    expect(text).not.toContain('pgbackrest_repo_recovery_point_seconds{stanza="main",repo_key="1"}');
  });
});
