/**
 * Prometheus metrics (METRICS_PORT; off by default), named in the style of the community
 * pgbackrest_exporter. Computed from the same status as `postgres-ba status`, at most once per
 * statusCacheMs, so both agree and a scrape is never an S3 request of its own.
 */
import type { BackupEnv } from "../env/parse.js";
import type { DrillRecord } from "./recovery-objectives.js";
import { httpModule } from "./builtin.js";
import { gatherStatus, type Status } from "./status.js";

type Sample = [labels: Record<string, string>, value: number];

function family(name: string, help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`];
  for (const [labels, value] of samples) {
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`)
      .join(",");
    lines.push(`${name}{${l}} ${value}`);
  }
  return lines.join("\n");
}

export function renderMetrics(s: Status): string {
  const stanza = { stanza: s.stanza };
  const byType = (["full", "diff", "incr"] as const).filter((t) => s.latest[t]);
  return `${[
    family("pgbackrest_stanza_status", "0 when postgres-ba status finds no problem, 1 otherwise.", [[stanza, s.problems.length ? 1 : 0]]),
    family("pgbackrest_repository_reachable", "1 when the repository answered pgbackrest info.", [[stanza, s.repository.reachable ? 1 : 0]]),
    family(
      "pgbackrest_backup_since_last_completion_seconds",
      "Seconds since the newest backup of each type ended.",
      byType.map((t) => [{ ...stanza, backup_type: t }, s.latest[t]!.ageSeconds]),
    ),
    family(
      "pgbackrest_backup_size_bytes",
      "Database size in the newest backup of each type.",
      byType.filter((t) => s.latest[t]!.sizeBytes !== undefined).map((t) => [{ ...stanza, backup_type: t }, s.latest[t]!.sizeBytes!]),
    ),
    // Each repository on its own (repo_key as pgBackRest numbers them): with two, one that stops working shows while the other works.
    family(
      "pgbackrest_repo_reachable",
      "1 when this repository answered pgbackrest info.",
      (s.repositories ?? []).map((r) => [{ ...stanza, repo_key: String(r.index) }, r.reachable ? 1 : 0]),
    ),
    family(
      "pgbackrest_repo_backup_since_last_completion_seconds",
      "Seconds since the newest backup of each type in this repository ended.",
      (s.repositories ?? []).flatMap((r) =>
        (["full", "diff", "incr"] as const).flatMap((t): Sample[] => {
          const b = r.latest[t];
          return b ? [[{ ...stanza, repo_key: String(r.index), backup_type: t }, b.ageSeconds]] : [];
        }),
      ),
    ),
    family(
      "pgbackrest_repo_recovery_point_seconds",
      "With two repositories: the age of the oldest committed WAL this repository does not have yet.",
      (s.repositories ?? []).flatMap((r): Sample[] =>
        typeof r.recoveryPointSeconds === "number" ? [[{ ...stanza, repo_key: String(r.index) }, r.recoveryPointSeconds]] : [],
      ),
    ),
    family("pgbackrest_wal_archive_failing", "1 while the last WAL archive attempt failed.", [[stanza, s.archiving.failing ? 1 : 0]]),
    family("pgbackrest_wal_segments_waiting", "WAL segments in pg_wal waiting to be archived.", [[stanza, s.archiving.waitingSegments]]),
    family(
      "pg_replication_slots_pg_wal_lsn_diff",
      "Bytes of WAL each physical replication slot keeps (postgres_exporter's name).",
      s.replication.slots.map((x) => [{ slot_name: x.name }, x.retainedBytes]),
    ),
    family(
      "pg_replication_slots_active",
      "1 while a replica streams through the slot.",
      s.replication.slots.map((x) => [{ slot_name: x.name }, x.active ? 1 : 0]),
    ),
    family(
      "pgbackrest_recovery_point_seconds",
      "Age of the oldest committed WAL the repository does not have yet (0: it has all of it); absent where not measured.",
      s.recovery.pointSeconds === null ? [] : [[stanza, s.recovery.pointSeconds]],
    ),
    ...drillFamilies(stanza, s.recovery.lastDrill),
    family("pgbackrest_wal_archive_failures", "Failed archive attempts since the server started (pg_stat_archiver.failed_count).", [
      [stanza, s.archiving.failedCount],
    ]),
  ].join("\n")}\n`;
}

/** The last restore drill: the measured recovery time, and what it restored. */
function drillFamilies(stanza: Record<string, string>, drill: DrillRecord | null): string[] {
  const sample = (value: number | undefined): Sample[] => (drill && value !== undefined ? [[stanza, value]] : []);
  return [
    family("pgbackrest_restore_drill_success", "1 when the last restore drill reached a queryable server.", sample(drill ? Number(drill.ok) : undefined)),
    family(
      "pgbackrest_restore_drill_duration_seconds",
      "How long the last successful restore drill took from its start to a queryable server.",
      sample(drill?.ok ? drill.seconds : undefined),
    ),
    family(
      "pgbackrest_restore_drill_size_bytes",
      "Size of the data directory the last successful restore drill restored.",
      sample(drill?.ok ? drill.bytes : undefined),
    ),
    family(
      "pgbackrest_restore_drill_completion_timestamp_seconds",
      "When the last restore drill ended (Unix time).",
      sample(drill ? Date.parse(drill.finishedAt) / 1000 : undefined),
    ),
  ];
}

/** Scrapes within this many milliseconds share one status: a scrape never costs an S3 call of its own. */
export const statusCacheMs = 15_000;

/**
 * The status scrapes are served from: gathered at most once per `maxAgeMs`, and one gathering at
 * a time however many scrapes arrive together.
 */
export function cachedStatus(gather: () => Promise<Status>, maxAgeMs = statusCacheMs, now = () => Date.now()): () => Promise<Status> {
  let last: { at: number; status: Status } | undefined;
  let inFlight: Promise<Status> | undefined;
  return () => {
    if (last && now() - last.at < maxAgeMs) return Promise.resolve(last.status);
    inFlight ??= gather().then(
      (status) => {
        last = { at: now(), status };
        inFlight = undefined;
        return status;
      },
      (e: unknown) => {
        inFlight = undefined;
        throw e;
      },
    );
    return inFlight;
  };
}

/**
 * Serves GET /metrics (anything else is 404) until `signal` aborts; rejects when the port cannot
 * be bound, so the supervisor logs it and tries again later while PostgreSQL carries on.
 */
export function serveMetrics(env: BackupEnv, port: number, address: string, signal: AbortSignal): Promise<void> {
  const { createServer } = httpModule();
  const status = cachedStatus(() => gatherStatus(env));
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    status().then(
      (s) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(renderMetrics(s)),
      (e: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`status failed: ${e.message}\n`),
    );
  });
  // Prometheus scrapes one at a time; a flood of connections must not exhaust the runtime.
  server.maxConnections = 16;
  server.requestTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => {
      server.off("error", reject);
      server.on("error", () => {});
      if (signal.aborted) server.close(() => resolve());
      signal.addEventListener("abort", () => server.close(() => resolve()), { once: true });
    });
  });
}
