/**
 * Prometheus metrics (METRICS_PORT; off by default), named in the style of the community
 * pgbackrest_exporter. Computed from `postgres-ba status` at each scrape, so both always agree.
 */
import { createServer, type Server } from "node:http";
import type { BackupEnv } from "../env/parse.js";
import { gatherStatus, type Status } from "./status.js";

type Sample = [labels: Record<string, string>, value: number];

function family(name: string, help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`];
  for (const [labels, value] of samples) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`).join(",");
    lines.push(`${name}{${l}} ${value}`);
  }
  return lines.join("\n");
}

export function renderMetrics(s: Status): string {
  const stanza = { stanza: s.stanza };
  const byType = (["full", "diff", "incr"] as const).filter((t) => s.latest[t]);
  return [
    family("pgbackrest_stanza_status", "0 when postgres-ba status finds no problem, 1 otherwise.", [[stanza, s.problems.length ? 1 : 0]]),
    family("pgbackrest_repository_reachable", "1 when the repository answered pgbackrest info.", [[stanza, s.repository.reachable ? 1 : 0]]),
    family("pgbackrest_backup_since_last_completion_seconds", "Seconds since the newest backup of each type ended.",
      byType.map((t) => [{ ...stanza, backup_type: t }, s.latest[t]!.ageSeconds])),
    family("pgbackrest_backup_size_bytes", "Database size in the newest backup of each type.",
      byType.filter((t) => s.latest[t]!.sizeBytes !== undefined).map((t) => [{ ...stanza, backup_type: t }, s.latest[t]!.sizeBytes!])),
    family("pgbackrest_wal_archive_failing", "1 while the last WAL archive attempt failed.", [[stanza, s.archiving.failing ? 1 : 0]]),
    family("pgbackrest_wal_segments_waiting", "WAL segments in pg_wal waiting to be archived.", [[stanza, s.archiving.waitingSegments]]),
    family("pg_replication_slots_pg_wal_lsn_diff", "Bytes of WAL each physical replication slot keeps (postgres_exporter's name).",
      s.replication.slots.map((x) => [{ slot_name: x.name }, x.retainedBytes])),
    family("pg_replication_slots_active", "1 while a replica streams through the slot.", s.replication.slots.map((x) => [{ slot_name: x.name }, x.active ? 1 : 0])),
    family("pgbackrest_wal_archive_failures", "Failed archive attempts since the server started (pg_stat_archiver.failed_count).", [[stanza, s.archiving.failedCount]]),
  ].join("\n") + "\n";
}

/** Serves GET /metrics on port; anything else is 404. */
export function serveMetrics(env: BackupEnv, port: number): Server {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    gatherStatus(env).then(
      (status) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(renderMetrics(status)),
      (e: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`status failed: ${e.message}\n`),
    );
  });
  server.listen(port, "0.0.0.0");
  return server;
}
