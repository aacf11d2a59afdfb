/**
 * REPO2_TYPE: a second repository beside the first (here an S3 bucket and a directory on a volume
 * of its own). Added to a stanza that already backs up, it gets the stanza and a first full
 * backup; WAL and every backup go to both; with S3 gone the directory still receives both and
 * status names the failing repository; RESTORE_REPO=2 brings every row back from the directory
 * alone, S3 still gone.
 */
import { randomBytes } from "node:crypto";
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { noSchedule, pollUntil, removeVolume, type BucketConfig, type StartedPrimaryContainer } from "../harness/index.js";
import type { BackupInfo } from "../harness/primary.js";

const suffix = randomBytes(4).toString("hex");
const dataVolume = `two-repos-data-${suffix}`;
const copyVolume = `two-repos-copy-${suffix}`;
const copyDir = "/var/lib/pgbackrest-copy";

interface RepositorySummary {
  index: number;
  name: string;
  reachable: boolean;
  error?: string;
  latest: Partial<Record<"full" | "diff" | "incr", { label: string }>>;
  recoveryPointSeconds?: number | null;
}

const inRepository = (backups: BackupInfo[], index: number, type: BackupInfo["type"]) =>
  backups.filter((b) => b.database["repo-key"] === index && b.type === type);

describe("@two-repos two repositories at once: WAL and backups in both, one down does not stop the other, a restore from either #two-repos", () => {
  let db: StartedPrimaryContainer;
  let bucket: BucketConfig;

  /** Switches WAL and waits until the finished segment is in the directory repository (pg_stat_archiver waits for both). */
  async function archivedInCopy(): Promise<string> {
    await db.sql("SELECT pg_logical_emit_message(false, 'two-repos', 'switch')");
    const [{ segment }] = await db.sql<{ segment: string }>("SELECT pg_walfile_name(pg_current_wal_lsn()) AS segment");
    await db.sql("SELECT pg_switch_wal()");
    await pollUntil(
      `${segment} in ${copyDir}`,
      async () => (await db.execOk(["sh", "-c", `ls ${copyDir}/archive/main/18-1/${segment.slice(0, 16)}/ 2>/dev/null || true`])).output.includes(segment),
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    return segment;
  }

  it.beforeAll(async ({ bed }) => {
    bucket = await bed.s3.createBucket("two-repos");
    // Last week: one repository, backups active, rows written.
    const before = await bed.primary(bucket).withDataVolume(dataVolume).withSchedule(noSchedule).start();
    await before.waitForBackupsActive();
    await before.sql("CREATE TABLE before_copy AS SELECT generate_series(1, 2000) AS id");
    await before.stop();
    // This week: the same data, a second repository added.
    db = await bed
      .primary(bucket)
      .withDataVolume(dataVolume)
      .withSecondRepositoryVolume(copyVolume, copyDir)
      .withEnvironment({ METRICS_PORT: "9187" })
      .withSchedule(noSchedule)
      .start();
  });

  it.afterAll(async ({ bed }) => {
    await bed.s3.reconnect().catch(() => undefined);
    await db?.stop({ removeVolumes: true });
    await removeVolume(dataVolume);
    await removeVolume(copyVolume);
  });

  it("gives a repository added to an active stanza the stanza and a first full backup, then WAL and every backup go to both #repo-added", async ({ bed }) => {
    await db.waitForLog(/new-repository: stanza main created and first full backup taken in repository 2/, 180_000);
    const afterAdd = await db.backups();
    expect(inRepository(afterAdd, 1, "full")).toHaveLength(1);
    expect(inRepository(afterAdd, 2, "full")).toHaveLength(1);

    await db.sql("CREATE TABLE after_copy AS SELECT generate_series(1, 1000) AS id");
    // pg_stat_archiver counts a segment archived only once every repository has it.
    const segment = await db.archiveCurrentWal();
    const inBucket = await bed.s3.listObjects(bucket.name, "pgbackrest/archive/main/18-1/");
    expect(inBucket.some((k) => k.includes(`/${segment}-`))).toBe(true);
    expect((await db.execOk(["ls", `${copyDir}/archive/main/18-1/${segment.slice(0, 16)}/`])).output).toContain(`${segment}-`);

    const backup = await db.exec(["postgres-ba", "backup", "incr"]);
    expect(backup.exitCode, backup.output).toBe(0);
    expect(backup.output).toMatch(/incr backup \S+ finished in [\d.]+ s in repository 1 \(s3:\/\/two-repos-[0-9a-f]+\/pgbackrest\)/);
    expect(backup.output).toMatch(/incr backup \S+ finished in [\d.]+ s in repository 2 \(\/var\/lib\/pgbackrest-copy\)/);
    const backups = await db.backups();
    expect(inRepository(backups, 1, "incr")).toHaveLength(1);
    expect(inRepository(backups, 2, "incr")).toHaveLength(1);

    const status = await db.statusJson<{ repositories: RepositorySummary[]; problems: string[] }>();
    expect(status.exitCode, JSON.stringify(status.json.problems)).toBe(0);
    expect(status.json.repositories.map((r) => [r.index, r.reachable, r.latest.incr?.label !== undefined])).toEqual([
      [1, true, true],
      [2, true, true],
    ]);
  });

  it("keeps sending WAL and backups to the directory while S3 is gone, and status and metrics name S3 #repo-down", async ({ bed }) => {
    await bed.s3.isolate();
    try {
      await db.sql("CREATE TABLE during_outage AS SELECT generate_series(1, 1500) AS id");
      const committedAt = Date.now();
      await archivedInCopy();
      // Each repository's recovery point: the directory has every commit, S3 lacks the one above.
      const atLeast = Math.floor((Date.now() - committedAt) / 1000) - 1;
      // Measured once pg_waldump has read pg_wal (a full suite once saw it fail right after the switch: status says why).
      let recovery: unknown;
      const points = await pollUntil(
        "each repository's recovery point measured",
        async () => {
          const { json } = await db.statusJson<{ repositories: RepositorySummary[]; recovery: unknown }>();
          recovery = json.recovery;
          return json.repositories.every((r) => typeof r.recoveryPointSeconds === "number") ? json.repositories.map((r) => r.recoveryPointSeconds) : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 2000 },
      ).catch((e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify(recovery)}`);
      });
      expect(points).toEqual([expect.any(Number), 0]);
      expect(points[0]).toBeGreaterThanOrEqual(atLeast);

      const backup = await db.exec(["postgres-ba", "backup", "incr"]);
      expect(backup.exitCode, backup.output).not.toBe(0);
      expect(backup.output).toMatch(/incr backup failed in repository 1 \(s3:\/\/two-repos-[0-9a-f]+\/pgbackrest\): /);
      expect(backup.output).toMatch(/incr backup \S+ finished in [\d.]+ s in repository 2 /);
      expect(backup.output).not.toMatch(/backup failed in repository 2/);
      expect(inRepository(await db.backups(), 2, "incr")).toHaveLength(2);

      const status = await db.statusJson<{ repositories: RepositorySummary[]; problems: string[] }>();
      expect(status.exitCode).toBe(2);
      expect(status.json.repositories[0]).toMatchObject({ index: 1, reachable: false, error: expect.stringMatching(/cannot reach the S3 endpoint/) });
      expect(status.json.repositories[1]).toMatchObject({ index: 2, reachable: true });
      expect(status.json.problems.filter((p) => p.startsWith("repository "))).toEqual([
        expect.stringMatching(/^repository 1 \(s3:\/\/two-repos-[0-9a-f]+\/pgbackrest\) unreachable: cannot reach the S3 endpoint/),
      ]);
      const metrics = await pollUntil(
        "metrics with repository 1 unreachable",
        async () => {
          const text = (await db.execOk(["node", "-e", 'fetch("http://127.0.0.1:9187/metrics").then((r) => r.text()).then(console.log)'])).output;
          return text.includes('pgbackrest_repo_reachable{stanza="main",repo_key="1"} 0') ? text : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 2000 },
      );
      expect(metrics).toContain('pgbackrest_repo_reachable{stanza="main",repo_key="2"} 1');
      expect(metrics).toMatch(/^pgbackrest_repo_backup_since_last_completion_seconds\{stanza="main",repo_key="2",backup_type="incr"\} \d+$/m);

      // Rows only WAL carries (after the last backup): the restore below must replay them from the directory.
      await db.sql("CREATE TABLE after_last_backup AS SELECT generate_series(1, 700) AS id");
      await archivedInCopy();
    } finally {
      await bed.s3.reconnect();
    }
    // S3 back: what waited in pg_wal reaches it (a new segment wakes PostgreSQL's archiver from its pause after failures), and status is clean again.
    await db.archiveCurrentWal(180_000);
    expect(await db.walWaiting()).toBe(0);
    await pollUntil("status clean with S3 back", async () => (await db.statusJson()).exitCode === 0, { timeoutMs: 60_000, intervalMs: 2000 });
  });

  it("starts backing up to the directory when S3 is down at the first start, and brings S3 along when it answers #repo-down-first-start", async ({ bed }) => {
    const freshBucket = await bed.s3.createBucket("two-repos-first");
    const freshCopy = `two-repos-first-${suffix}`;
    await bed.s3.isolate();
    let isolated = true;
    try {
      await using fresh = await bed.primary(freshBucket).withSecondRepositoryVolume(freshCopy, copyDir).withSchedule(noSchedule).start();
      // The stanza is active with the directory's first full backup alone.
      await fresh.waitForLog(/init-backups: stanza main ready in \/var\/lib\/pgbackrest-copy/, 120_000);
      await fresh.waitForBackupsActive(180_000);
      expect(inRepository(await fresh.backups(), 2, "full")).toHaveLength(1);
      await fresh.sql("CREATE TABLE first_start AS SELECT generate_series(1, 300) AS id");
      const segment = await fresh.sql<{ segment: string }>("SELECT pg_walfile_name(pg_current_wal_lsn()) AS segment");
      await fresh.sql("SELECT pg_switch_wal()");
      await pollUntil(
        "the first start's WAL in the directory",
        async () =>
          (await fresh.execOk(["sh", "-c", `ls ${copyDir}/archive/main/18-1/${segment[0].segment.slice(0, 16)}/ 2>/dev/null || true`])).output.includes(
            segment[0].segment,
          ),
        { timeoutMs: 90_000, intervalMs: 1000 },
      );
      await bed.s3.reconnect();
      isolated = false;
      // S3 back: the new-repository service creates the stanza there and takes its first full backup.
      await fresh.waitForLog(/new-repository: stanza main created and first full backup taken in repository 1/, 360_000);
      expect(inRepository(await fresh.backups(), 1, "full")).toHaveLength(1);
      await fresh.archiveCurrentWal(180_000);
      expect(await fresh.walWaiting()).toBe(0);
    } finally {
      if (isolated) await bed.s3.reconnect();
      await removeVolume(freshCopy);
    }
  });

  it("restores every row from the directory alone with RESTORE_REPO=2 while S3 is gone #restore-repo", async ({ bed }) => {
    await bed.s3.isolate();
    try {
      await using restored = await bed
        .primary(bucket)
        .withSecondRepositoryVolume(copyVolume, copyDir)
        .withEnvironment({ RESTORE_FROM_BACKUP: "true", RESTORE_REPO: "2", REPO_READ_ONLY: "true" })
        .start();
      const counts = await restored.sql(
        "SELECT (SELECT count(*) FROM before_copy)::int AS a, (SELECT count(*) FROM after_copy)::int AS b, (SELECT count(*) FROM during_outage)::int AS c, (SELECT count(*) FROM after_last_backup)::int AS d",
      );
      expect(counts).toEqual([{ a: 2000, b: 1000, c: 1500, d: 700 }]);
      expect(await restored.logText()).toMatch(/restore-from-backup: restored: /);
    } finally {
      await bed.s3.reconnect();
    }
  });
});
