/**
 * `postgres-ba status`: what a person (or a monitoring probe) needs to trust the backups. The
 * gathering does I/O; renderStatus and the problem rules are pure.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repositories, repositoryName, type BackupEnv } from "../env/parse.js";
import type { Env } from "../env/table.js";
import { psql } from "./postgres.js";
import { readStanza, type StanzaState } from "./repository.js";
import type { RepoBackup } from "./restore-plan.js";
import { nextRun, scheduledJobs } from "./scheduler.js";
import { backupState, type BackupState } from "./state.js";
import {
  archiveEnd,
  type DrillRecord,
  oldestUnarchivedCommit,
  parseLsn,
  readDrillRecord,
  repositoryArchiveEnd,
  waldumpSegments,
} from "./recovery-objectives.js";
import { earliestExpiry, expiryProblem } from "./tls.js";
import { patroniCluster, patroniGet, patroniMember, storeName } from "./patroni.js";
import { tlsPaths } from "./tls-paths.js";
import { RepositoryError } from "../errors.js";

export interface BackupSummary {
  label: string;
  type: string;
  ageSeconds: number;
  sizeBytes?: number;
}

/** A physical replication slot on this server and the WAL it keeps in pg_wal. */
export interface SlotSummary {
  name: string;
  active: boolean;
  retainedBytes: number;
}

/** The newest backup of each type. */
export type LatestBackups = Partial<Record<"full" | "diff" | "incr", BackupSummary>>;

/** One repository as status sees it: whether it answered, and its newest backups. */
export interface RepositorySummary {
  index: 1 | 2;
  name: string;
  reachable: boolean;
  error?: string;
  latest: LatestBackups;
  /** This repository's recovery point (see Status.recovery): it may have WAL the other lacks. */
  recoveryPointSeconds?: number | null;
}

export interface Status {
  stanza: string;
  state: BackupState;
  /** Every repository together: reachable when each one is. */
  repository: { reachable: boolean; error?: string };
  /** The newest backups in any repository. */
  latest: LatestBackups;
  /** Each repository (two with REPO2_TYPE), checked one by one when there are two. */
  repositories?: RepositorySummary[];
  archiving: {
    lastArchivedWal?: string;
    lastArchivedAgeSeconds?: number;
    failedCount: number;
    lastFailedWal?: string;
    failing: boolean;
    waitingSegments: number;
  };
  /** What a lost disk would cost now, measured: see recovery-objectives.ts. */
  recovery: {
    /** Age of the oldest commit the repository does not have yet; 0 when it has them all; null on a standby or when pg_wal cannot be read. */
    pointSeconds: number | null;
    oldestUnarchivedCommit: string | null;
    lastDrill: DrillRecord | null;
    /** Why the recovery point could not be measured (pg_wal or pg_waldump failed), when it could not. */
    error?: string;
  };
  schedule: Array<{ type: string; expression: string; next: string | null }>;
  replication: { role: "primary" | "standby"; slots: SlotSummary[]; maxWalSizeBytes: number };
  /** The server certificate (the first-expiring one of the chain in server.crt). */
  tls?: TlsSummary;
  /** HA_MODE=patroni: this member, the leader, every member and the store, as Patroni sees them. */
  ha?: HaSummary;
  problems: string[];
}

export interface HaSummary {
  scope: string;
  member: string;
  /** This member's role in GET /cluster (leader, replica, sync_standby, ...); null when it is not listed. */
  role: string | null;
  leader: string | null;
  /** The store (etcd or the Kubernetes API) as this member last reached it: reachable while its last contact is within HA_TTL. */
  store: { name: string; reachable: boolean; lastContactSecondsAgo: number | null };
  members: Array<{ name: string; role: string; state: string; timeline: number | null; lagBytes: number | null }>;
  /** HA_FAILSAFE_MODE: the members the leader must reach to keep serving without the store (Patroni's /failsafe key); null when off or unknown. */
  failsafeMembers: string[] | null;
  /** Patroni's REST API did not answer. */
  error?: string;
}

export interface TlsSummary {
  certificate: string;
  subject?: string;
  serial?: string;
  notAfter?: string;
  daysLeft?: number;
  /** Why the certificate could not be read. */
  error?: string;
}

type SizedBackup = RepoBackup & { info?: { size?: number } };

/** WAL archiving as pg_stat_archiver and pg_wal's archive_status see it. */
export async function gatherArchiving(env: Env, now = new Date()): Promise<Status["archiving"]> {
  // Failing is decided at full precision: a failure and a success within one second must not
  // read as failing (the webhook would report a blip as an outage and its recovery).
  const [lastWal, lastAt, failed, lastFailedWal, failing] = (
    await psql(
      env,
      "SELECT coalesce(last_archived_wal, ''), coalesce(extract(epoch FROM last_archived_time)::bigint::text, ''), failed_count, coalesce(last_failed_wal, ''), " +
        "last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR last_failed_time >= last_archived_time) FROM pg_stat_archiver;",
    )
  ).split("|");
  const waitingSegments = readdirSync(join(env.PGDATA, "pg_wal", "archive_status")).filter((f) => f.endsWith(".ready")).length;
  const seconds = now.getTime() / 1000;
  return {
    lastArchivedWal: lastWal || undefined,
    lastArchivedAgeSeconds: lastAt ? Math.round(seconds - Number(lastAt)) : undefined,
    failedCount: Number(failed),
    lastFailedWal: lastFailedWal || undefined,
    failing: failing === "t",
    waitingSegments,
  };
}

/** The newest backup of each type among these (info lists them oldest first). */
function latestOf(backups: SizedBackup[], now: Date): LatestBackups {
  const latest: LatestBackups = {};
  const seconds = now.getTime() / 1000;
  for (const b of backups) {
    latest[b.type as "full" | "diff" | "incr"] = { label: b.label, type: b.type, ageSeconds: Math.round(seconds - b.timestamp.stop), sizeBytes: b.info?.size };
  }
  return latest;
}

/** Each repository read on its own (`info --repo`), so one that fails is named with its own cause. */
async function gatherRepositories(
  env: BackupEnv,
  now: Date,
): Promise<{ summaries: RepositorySummary[]; backups: SizedBackup[]; archives: Map<number, StanzaState["archives"]> }> {
  const read = await Promise.all(
    repositories(env).map(async (r) => {
      const name = repositoryName(r.settings);
      try {
        const stanza = await readStanza(env, { repo: r.index });
        const backups: SizedBackup[] = stanza.backups;
        return { summary: { index: r.index, name, reachable: true, latest: latestOf(backups, now) }, backups, archives: stanza.archives };
      } catch (e) {
        if (!(e instanceof RepositoryError)) throw e;
        return { summary: { index: r.index, name, reachable: false, error: e.message, latest: {} }, backups: [], archives: [] };
      }
    }),
  );
  const backups = read.flatMap((x) => x.backups).sort((a, b) => a.timestamp.stop - b.timestamp.stop);
  return { summaries: read.map((x) => x.summary), backups, archives: new Map(read.map((x) => [x.summary.index, x.archives])) };
}

export async function gatherStatus(env: BackupEnv, now = new Date()): Promise<Status> {
  const state = backupState(env.PGDATA, env.PGBACKREST_STANZA);
  const { summaries, backups, archives } = await gatherRepositories(env, now);
  const failed = summaries.filter((r) => !r.reachable);
  const repository: Status["repository"] = failed.length
    ? { reachable: false, error: failed.map((r) => (summaries.length > 1 ? `repository ${r.index}: ${r.error}` : r.error)).join("; ") }
    : { reachable: true };
  const archiving = await gatherArchiving(env, now);
  const replication = await gatherReplication(env);
  const latest = latestOf(backups, now);
  let pointError: string | undefined;
  const point = await gatherRecoveryPoint(env, summaries.length > 1 ? archives : new Map()).catch((e: Error) => {
    pointError = e.message;
    return null;
  });
  for (const r of summaries.length > 1 ? summaries : []) r.recoveryPointSeconds = point?.repositories.get(r.index) ?? null;
  const status: Omit<Status, "problems"> = {
    stanza: env.PGBACKREST_STANZA,
    state,
    repository,
    latest,
    repositories: summaries,
    archiving,
    schedule: scheduledJobs(env).map((j) => ({ ...j, next: nextRun(j.expression, now)?.toISOString() ?? null })),
    replication,
    recovery: {
      pointSeconds: point?.seconds ?? null,
      oldestUnarchivedCommit: point?.oldest?.toISOString() ?? null,
      lastDrill: readDrillRecord(env.PGDATA) ?? null,
      ...(pointError === undefined ? {} : { error: pointError }),
    },
    tls: gatherTls(env, now),
    ...(env.HA_MODE === "patroni" ? { ha: await gatherHa(env, now) } : {}),
  };
  return { ...status, problems: statusProblems(status, thresholds(env), now) };
}

async function gatherHa(env: BackupEnv, now: Date): Promise<HaSummary> {
  const summary: HaSummary = {
    scope: env.HA_SCOPE,
    member: env.HA_MEMBER_NAME,
    role: null,
    leader: null,
    store: { name: storeName(env), reachable: false, lastContactSecondsAgo: null },
    members: [],
    failsafeMembers: null,
  };
  try {
    // /cluster is read from the store: without it, this member's own view is what there is.
    const [self, members, failsafe] = await Promise.all([
      patroniMember(env),
      patroniCluster(env).catch(() => []),
      patroniGet<Record<string, string>>(env, "/failsafe").catch(() => undefined),
    ]);
    summary.failsafeMembers = failsafe?.status === 200 && failsafe.body ? Object.keys(failsafe.body).sort() : null;
    const lastContact = self.dcs_last_seen === undefined ? null : Math.max(0, Math.round(now.getTime() / 1000 - self.dcs_last_seen));
    summary.store = { ...summary.store, reachable: lastContact !== null && lastContact <= env.HA_TTL, lastContactSecondsAgo: lastContact };
    summary.members = members.map((m) => ({
      name: m.name,
      role: m.role,
      state: m.state,
      timeline: m.timeline ?? null,
      lagBytes: typeof m.lag === "number" ? m.lag : null,
    }));
    const leading = self.role === "primary";
    summary.role = members.find((m) => m.name === env.HA_MEMBER_NAME)?.role ?? (leading ? "leader" : self.role);
    summary.leader = members.find((m) => m.role === "leader")?.name ?? (leading ? env.HA_MEMBER_NAME : null);
  } catch (e) {
    summary.error = (e as Error).message;
  }
  return summary;
}

/**
 * The recovery point in seconds (0: the repository has every commit), or null where there is
 * nothing to measure: a standby archives nothing, nor does a server with archive_mode off.
 */
async function gatherRecoveryPoint(
  env: BackupEnv,
  archivesByRepository: Map<number, StanzaState["archives"]>,
): Promise<{ seconds: number; oldest?: Date; repositories: Map<number, number | null> } | null> {
  const [standby, archiveMode, flushed, flushedWal, segmentBytes, systemId] = (
    await psql(
      env,
      "SELECT pg_is_in_recovery(), current_setting('archive_mode'), " +
        "CASE WHEN pg_is_in_recovery() THEN '' ELSE pg_current_wal_flush_lsn()::text END, " +
        "CASE WHEN pg_is_in_recovery() THEN '' ELSE pg_walfile_name(pg_current_wal_flush_lsn()) END, " +
        "(SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'), (SELECT system_identifier FROM pg_control_system());",
    )
  ).split("|");
  if (standby === "t" || archiveMode === "off") return null;
  const walDir = join(env.PGDATA, "pg_wal");
  const end = archiveEnd(readdirSync(join(walDir, "archive_status")), parseLsn(flushed), flushedWal, Number(segmentBytes));
  const pointFrom = async (from: { lsn: bigint; segment: string }) => {
    if (parseLsn(flushed) <= from.lsn) return { seconds: 0 };
    const oldest = await oldestUnarchivedCommit(
      walDir,
      waldumpSegments(from.segment, parseLsn(flushed), flushedWal, Number(segmentBytes)),
      from.lsn,
      parseLsn(flushed),
    );
    // Aged now, not when the status began: reading the repository may have taken a while.
    return oldest ? { seconds: Math.max(0, Math.round((Date.now() - oldest.getTime()) / 1000)), oldest } : { seconds: 0 };
  };
  const overall = await pointFrom(end);
  // With two repositories, each one's own: the one archiving waits for may be behind the other.
  const perRepository = new Map<number, number | null>();
  for (const [index, archives] of archivesByRepository) {
    const newest = archives
      .filter((a) => a.systemId === systemId && a.max !== null)
      .map((a) => a.max!)
      .sort()
      .at(-1);
    const own = repositoryArchiveEnd(end, newest, Number(segmentBytes));
    perRepository.set(
      index,
      own.lsn === end.lsn
        ? overall.seconds
        : await pointFrom(own).then(
            (p) => p.seconds,
            () => null,
          ),
    );
  }
  return { ...overall, repositories: perRepository };
}

function gatherTls(env: BackupEnv, now: Date): TlsSummary {
  const certificate = tlsPaths(env).serverCert;
  try {
    const e = earliestExpiry(readFileSync(certificate, "utf8"));
    return {
      certificate,
      subject: e.subject,
      serial: e.serial,
      notAfter: e.notAfter.toISOString(),
      daysLeft: Math.floor((e.notAfter.getTime() - now.getTime()) / 86_400_000),
    };
  } catch (e) {
    return { certificate, error: (e as Error).message };
  }
}

async function gatherReplication(env: BackupEnv): Promise<Status["replication"]> {
  const [head, ...rows] = (
    await psql(
      env,
      `
    SELECT pg_is_in_recovery(), (SELECT setting::bigint * 1048576 FROM pg_settings WHERE name = 'max_wal_size'), '';
    SELECT slot_name, active, coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, restart_lsn), 0)::bigint
      FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY slot_name;`,
    )
  ).split("\n");
  const [recovery, maxWalSize] = head.split("|");
  const slots = rows.filter(Boolean).map((r) => {
    const [name, active, retained] = r.split("|");
    return { name, active: active === "t", retainedBytes: Number(retained) };
  });
  return { role: recovery === "t" ? "standby" : "primary", slots, maxWalSizeBytes: Number(maxWalSize) };
}

/** The thresholds a status is held to (STATUS_MAX_*), in seconds; an absent one is not checked. */
export interface StatusLimits {
  maxBackupAge: number;
  maxRecoveryPoint?: number;
  maxRestoreDrill?: number;
}

function thresholds(env: BackupEnv): StatusLimits {
  return { maxBackupAge: env.STATUS_MAX_BACKUP_AGE, maxRecoveryPoint: env.STATUS_MAX_RPO, maxRestoreDrill: env.STATUS_MAX_RTO };
}

/** What makes the probe fail (exit 2). */
export function statusProblems(s: Omit<Status, "problems">, limits: StatusLimits, now = new Date()): string[] {
  const problems: string[] = [];
  if (s.state === "adopted") problems.push("backups are not initialized for this database: run postgres-ba init-backups");
  // With two repositories each is held to the same rules, and named: one that stopped receiving backups is a problem even while the other has them.
  const each =
    s.repositories && s.repositories.length > 1
      ? s.repositories
      : [{ index: 1, name: "", reachable: s.repository.reachable, error: s.repository.error, latest: s.latest }];
  for (const r of each) {
    const named = each.length > 1 ? ` ${r.index} (${r.name})` : "";
    if (!r.reachable) problems.push(`repository${named} unreachable: ${r.error}`);
    const newest = Object.values(r.latest).sort((a, b) => a!.ageSeconds - b!.ageSeconds)[0];
    if (!newest && r.reachable) problems.push(named ? `no backup in repository${named}` : "no backup in the repository");
    if (newest && newest.ageSeconds > limits.maxBackupAge)
      problems.push(
        `newest backup ${newest.label}${named ? ` in repository${named}` : ""} is ${newest.ageSeconds} s old, more than STATUS_MAX_BACKUP_AGE=${limits.maxBackupAge}`,
      );
  }
  for (const slot of s.replication.slots.filter((x) => !x.active && x.retainedBytes > s.replication.maxWalSizeBytes)) {
    problems.push(
      `replication slot ${slot.name} is inactive and keeps ${(slot.retainedBytes / 1e6).toFixed(0)} MB of WAL in pg_wal (more than max_wal_size); if its replica is gone for good: SELECT pg_drop_replication_slot('${slot.name}')`,
    );
  }
  if (s.archiving.failing)
    problems.push(`WAL archiving is failing (last failed segment ${s.archiving.lastFailedWal}, ${s.archiving.waitingSegments} segment(s) waiting in pg_wal)`);
  const point = s.recovery.pointSeconds;
  if (limits.maxRecoveryPoint !== undefined && point !== null && point > limits.maxRecoveryPoint)
    problems.push(
      `recovery point: the oldest commit not in the repository yet is ${point} s old (${s.recovery.oldestUnarchivedCommit}), more than STATUS_MAX_RPO=${limits.maxRecoveryPoint}`,
    );
  const drill = s.recovery.lastDrill;
  if (drill && !drill.ok) problems.push(`the last restore drill (${drill.finishedAt}) failed: ${drill.summary}`);
  if (drill?.ok && limits.maxRestoreDrill !== undefined && drill.seconds > limits.maxRestoreDrill)
    problems.push(
      `the last restore drill (${drill.finishedAt}) took ${drill.seconds} s to a queryable server, more than STATUS_MAX_RTO=${limits.maxRestoreDrill}`,
    );
  if (s.tls?.error !== undefined) problems.push(`server certificate ${s.tls.certificate} cannot be read: ${s.tls.error}`);
  if (s.ha?.error !== undefined) problems.push(`Patroni's REST API did not answer: ${s.ha.error}`);
  else if (s.ha) {
    if (!s.ha.store.reachable)
      problems.push(
        `${s.ha.store.name} ${s.ha.store.lastContactSecondsAgo === null ? "was never reached" : `last answered ${s.ha.store.lastContactSecondsAgo} s ago`}: no failover can happen until it answers`,
      );
    if (s.ha.leader === null) problems.push(`cluster ${s.ha.scope} has no leader`);
  }
  if (s.tls?.notAfter) {
    const expiry = expiryProblem(s.tls.certificate, { subject: s.tls.subject ?? "", serial: s.tls.serial ?? "", notAfter: new Date(s.tls.notAfter) }, now);
    if (expiry) problems.push(expiry);
  }
  return problems;
}

function age(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

export function renderStatus(s: Status): string {
  const lines = [`stanza ${s.stanza}: ${s.problems.length ? "PROBLEM" : "ok"} (backups ${s.state})`];
  const backup = (b: BackupSummary | undefined) =>
    b ? `${b.label}, ${age(b.ageSeconds)} ago${b.sizeBytes !== undefined ? `, ${(b.sizeBytes / 1e6).toFixed(1)} MB` : ""}` : "none";
  if (s.repositories && s.repositories.length > 1) {
    for (const r of s.repositories) {
      const newest = (["full", "diff", "incr"] as const).map((type) => `last ${type} ${backup(r.latest[type])}`).join("; ");
      const point = typeof r.recoveryPointSeconds === "number" ? `; recovery point ${age(r.recoveryPointSeconds)}` : "";
      lines.push(`repository ${r.index} (${r.name}): ${r.reachable ? `reachable; ${newest}` : `UNREACHABLE: ${r.error}`}${point}`);
    }
  } else {
    lines.push(`repository: ${s.repository.reachable ? "reachable" : `UNREACHABLE: ${s.repository.error}`}`);
    for (const type of ["full", "diff", "incr"] as const) lines.push(`last ${type}: ${backup(s.latest[type])}`);
  }
  const a = s.archiving;
  lines.push(
    `WAL archiving: ${a.failing ? "FAILING" : "ok"}; last archived ${a.lastArchivedWal ? `${a.lastArchivedWal}, ${age(a.lastArchivedAgeSeconds!)} ago` : "none yet"}; ${a.failedCount} failure(s) since start; ${a.waitingSegments} segment(s) waiting`,
  );
  lines.push(`schedule: ${s.schedule.length ? s.schedule.map((j) => `${j.type} "${j.expression}" next ${j.next ?? "never"}`).join("; ") : "off"}`);
  const slots = s.replication.slots.map((x) => `${x.name} ${x.active ? "active" : "INACTIVE"}, ${(x.retainedBytes / 1e6).toFixed(1)} MB of WAL kept`);
  lines.push(`replication: ${s.replication.role}; slots: ${slots.length ? slots.join("; ") : "none"}`);
  if (s.tls)
    lines.push(
      `TLS: ${s.tls.notAfter ? `server certificate valid until ${s.tls.notAfter.slice(0, 10)} (${s.tls.daysLeft} d left)` : `server certificate UNREADABLE: ${s.tls.error}`}`,
    );
  const r = s.recovery;
  const drill = r.lastDrill;
  lines.push(
    `recovery point: ${r.error !== undefined ? `UNKNOWN (${r.error})` : r.pointSeconds === null ? "not measured here" : r.oldestUnarchivedCommit === null ? "every commit is in the repository" : `the oldest commit not in the repository is ${age(r.pointSeconds)} old`}; ` +
      `last restore drill: ${drill ? `${drill.ok ? `${age(Math.round(drill.seconds))} to a queryable server${drill.bytes === undefined ? "" : `, ${(drill.bytes / 1e6).toFixed(1)} MB`}` : "FAILED"}, ${drill.finishedAt}` : "none"}`,
  );
  if (s.ha) lines.push(renderHa(s.ha));
  for (const p of s.problems) lines.push(`problem: ${p}`);
  return lines.join("\n");
}

function renderHa(ha: HaSummary): string {
  if (ha.error !== undefined) return `HA: member ${ha.member} of ${ha.scope}: Patroni UNREACHABLE (${ha.error})`;
  const store = `${ha.store.name} ${ha.store.reachable ? `reachable (last contact ${ha.store.lastContactSecondsAgo} s ago)` : "UNREACHABLE"}`;
  const members = ha.members.map((m) => `${m.name} ${m.role} ${m.state}${m.lagBytes === null ? "" : `, ${m.lagBytes} B behind`}`).join("; ");
  const failsafe = ha.failsafeMembers ? `; failsafe: ${ha.failsafeMembers.join(", ")}` : "";
  return `HA: member ${ha.member} of ${ha.scope} is ${ha.role ?? "not listed"}; leader ${ha.leader ?? "NONE"}; ${store}; members: ${members}${failsafe}`;
}
