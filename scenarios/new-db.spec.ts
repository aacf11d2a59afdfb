import { describe, expect } from "vitest";
import { $ } from "zx";
import { scenarioWithPrimary } from "../harness/fixtures.js";
import { containerEngine, pollUntil } from "../harness/index.js";

const it = scenarioWithPrimary({
  bucket: "new-db",
  // Seconds-level schedule so the test sees a scheduled backup without waiting 30 minutes.
  configure: (p) => p.withSchedule({ incr: "*/20 * * * * *" }),
  // The tests below watch the stanza and the first backup appear.
  ready: "started",
});

describe("@new-db a new database initializes, serves TLS and backs itself up to S3", () => {
  it("accepts a client with sslmode=verify-full against the generated CA #tls-generated", async ({ db }) => {
    const [row] = await db.sql<{ ssl: boolean; user: string }>("SELECT s.ssl, current_user AS user FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()");
    expect(row).toEqual({ ssl: true, user: db.getUsername() });
  });

  // Only under POSTGRES_BA_ENGINE=docker (CI runs this file there too): the engine is Docker's own.
  it.runIf(process.env.POSTGRES_BA_ENGINE === "docker")("runs on Docker Engine, whose own health check reports healthy #docker-engine", async ({ db }) => {
    const { cli, kind } = await containerEngine();
    expect(kind).toBe("docker");
    // Docker lists containerd among its components; Podman's compatible API lists "Podman Engine" and conmon.
    const components = await $({ quiet: true })`${cli} version --format ${"{{range .Server.Components}}{{.Name}} {{end}}"}`;
    expect(components.stdout).toMatch(/\bEngine\b.*\bcontainerd\b/);
    expect(components.stdout).not.toMatch(/Podman/);
    const health = await pollUntil("Docker's health status healthy", async () => {
      const r = await $({ quiet: true })`${cli} inspect --format ${"{{.State.Health.Status}}"} ${db.getId()}`;
      return r.stdout.trim() === "healthy" ? r.stdout.trim() : undefined;
    });
    expect(health).toBe("healthy");
  });

  it("creates the stanza in the bucket", async ({ bed, bucket }) => {
    const stanzaFiles = ["backup/main/backup.info", "backup/main/backup.info.copy", "archive/main/archive.info", "archive/main/archive.info.copy"].map(
      (f) => `pgbackrest/${f}`,
    );
    const keys = await pollUntil("stanza files in the bucket", async () => {
      const k = await bed.s3.listObjects(bucket.name, "pgbackrest/");
      return stanzaFiles.every((f) => k.includes(f)) ? k : undefined;
    });
    expect(keys).toEqual(expect.arrayContaining(stanzaFiles));
  });

  it("takes a first full backup, listed by pgbackrest info and stored in the bucket #first-backup", async ({ db, bed, bucket }) => {
    const [full] = await db.waitForBackups("full", 1);
    expect(full.type).toBe("full");
    expect(full.prior).toBeNull();
    const keys = await bed.s3.listObjects(bucket.name, `pgbackrest/backup/main/${full.label}/`);
    expect(keys).toContain(`pgbackrest/backup/main/${full.label}/backup.manifest`);
  });

  it("archives WAL: a forced segment switch reaches the repository", async ({ db, bed, bucket }) => {
    await db.waitForLog(/schedule: started/);
    await db.sql("CREATE TABLE IF NOT EXISTS wal_probe (id int)");
    await db.sql("INSERT INTO wal_probe SELECT generate_series(1, 1000)");
    const [{ segment }] = await db.sql<{ segment: string }>("SELECT pg_walfile_name(pg_current_wal_lsn()) AS segment");
    await db.sql("SELECT pg_switch_wal()");
    const archived = await pollUntil(`segment ${segment} in the bucket`, async () =>
      (await bed.s3.listObjects(bucket.name, "pgbackrest/archive/main/")).find((k) => k.includes(`/${segment}-`)),
    );
    expect(archived).toMatch(new RegExp(`^pgbackrest/archive/main/18-1/${segment.slice(0, 16)}/${segment}-[0-9a-f]{40}\\.zst$`));
    const [archiver] = await db.sql<{ failed_count: string }>("SELECT failed_count FROM pg_stat_archiver");
    expect(Number(archiver.failed_count)).toBe(0);
  });

  it("keeps the S3 secret out of logs, process arguments and files #secrets-out-of-logs", async ({ db, bed }) => {
    const secret = bed.s3.secret;
    // Every command line seen while backups run (pgbackrest backup and archive-push live for
    // seconds: one snapshot while idle would miss them), sampled about every 50 ms: through a
    // scheduled backup (the next tick), then `postgres-ba backup full` right after it.
    const finished = async () => (await db.logText()).match(/backup: \w+ backup \S+ finished/g)?.length ?? 0;
    const finishedBefore = await finished();
    const sampler = db.exec([
      "sh",
      "-c",
      [
        "rm -f /tmp/stop-sampling",
        "while [ ! -e /tmp/stop-sampling ]; do",
        "  for f in /proc/[0-9]*/cmdline; do { tr '\\0' ' ' < \"$f\"; } 2>/dev/null; echo; done",
        "  sleep 0.05",
        "done | sort -u",
      ].join("\n"),
    ]);
    try {
      await pollUntil("a scheduled backup finished while sampling", async () => (await finished()) > finishedBefore, { timeoutMs: 60_000 });
      await db.execOk(["postgres-ba", "backup", "full"]);
    } finally {
      await db.exec(["touch", "/tmp/stop-sampling"]);
    }
    const seen = await sampler;
    expect(seen.exitCode, seen.output.slice(-500)).toBe(0);
    // Read for real: the backups' own command lines were caught (the scheduled incr and the full).
    expect(seen.output).toMatch(/pgbackrest --stanza=main backup --type=incr/);
    expect(seen.output).toMatch(/pgbackrest --stanza=main backup --type=full/);
    expect(seen.output).not.toContain(secret);
    const logs = await db.logText();
    expect(logs).toMatch(/\[postgres-ba\] backup: full backup \S+ finished/);
    expect(logs).not.toContain(secret);
    // grep reads the secret from the container's environment, so it is not an argument either.
    const files = await db.exec(["sh", "-c", 'grep -rlF -- "$S3_SECRET_KEY" /etc /var/lib/postgresql /var/log /var/spool /tmp; echo "grep exit $?"']);
    expect(files.output.trim()).toBe("grep exit 1");
  });

  it("runs the backup schedule: a scheduled incremental backup appears #schedule-runs", async ({ db }) => {
    const [incr] = await db.waitForBackups("incr", 1, 120_000);
    expect(incr.prior).toMatch(/F$/);
    expect(await db.logText()).toMatch(/\[postgres-ba\] schedule: started: .*incr "\*\/20 \* \* \* \* \*" next /);
  });
});
