/**
 * PG_MODE=replica on an empty PGDATA: wait for PRIMARY_HOST (bounded, a line per attempt), prove
 * the password and the primary's certificate against the cluster CA, create this replica's
 * physical slot, then copy the data: pg_basebackup from the primary, or (REPLICA_BOOTSTRAP=backup)
 * the latest backup restored from S3 as a standby. Every check happens before anything is
 * written; a failed copy leaves PGDATA empty again.
 */
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupsEnabled, repositoryName, type BackupEnv } from "../env/parse.js";
import type { Env } from "../env/table.js";
import { lastLines, run } from "../lib/exec.js";
import { exitCodes } from "../lib/exit-codes.js";
import { log } from "../lib/log.js";
import { archiveGetCommand, failureReason, pgbackrest } from "../lib/pgbackrest.js";
import {
  conninfo,
  type TimelineToFollow,
  timelineToFollow,
  ensureSlot,
  identify,
  isStandbyData,
  recordSlot,
  upstreamOf,
  type PrimaryIdentity,
  type Upstream,
  writeTimelineHistory,
} from "../lib/replication.js";
import { latestBackup, readStanza, type StanzaState } from "../lib/repository.js";
import { emptyDirectory, markStanzaActive } from "../lib/state.js";
import { did, skipped, type Step } from "./step.js";
import { FatalError, RepositoryError, UpstreamError } from "../errors.js";

export const cloneReplica: Step = {
  name: "clone-replica",
  // On the clone-replica path PGDATA is empty; after a rejoin it is empty only when pg_rewind
  // failed and the old data was moved aside, so it is looked at again.
  async run({ env, hasDatabase }) {
    if (hasDatabase())
      return skipped(isStandbyData(env.PGDATA) ? "PGDATA holds a standby: it resumes streaming without a new clone" : "PGDATA holds a primary");
    if (existsSync(env.PGDATA) && readdirSync(env.PGDATA).length > 0) {
      throw new FatalError(
        `PGDATA ${env.PGDATA} is not empty but holds no database (no PG_VERSION); a replica is cloned only into an empty directory. Fix: empty it or use another volume`,
        exitCodes.dataDirectory,
      );
    }
    const up = upstreamOf(env);
    if (!existsSync(up.caFile)) {
      throw new FatalError(
        `${up.caFile} does not exist: a replica verifies PRIMARY_HOST's certificate with the cluster's CA. Fix: mount the primary's CA_DIR volume (or your CA's ca.crt: no key is needed when SSL_CERT_DIR holds server.crt and server.key) at CA_DIR=${env.CA_DIR}`,
        exitCodes.primary,
      );
    }
    const primary = await reachPrimary(env, up);
    if (primary.standby) {
      throw new FatalError(
        `PRIMARY_HOST ${up.host} is a standby; replicas of replicas are not supported. Fix: set PRIMARY_HOST to the writable primary`,
        exitCodes.primary,
      );
    }
    const started = Date.now();
    const slot = await ensureSlot(up);
    const how = env.REPLICA_BOOTSTRAP === "backup" ? await restoreAsStandby(env, primary, up) : await baseBackup(env, up);
    writeFileSync(join(env.PGDATA, "standby.signal"), "");
    recordSlot(env.PGDATA, up.slot);
    return did(
      `cloned from ${up.host}:${up.port} (system ${primary.systemId}, timeline ${primary.timeline}) by ${how} in ${((Date.now() - started) / 1000).toFixed(1)} s; slot ${up.slot} ${slot}`,
    );
  },
};

/** IDENTIFY_SYSTEM until it answers; only "unreachable" is worth waiting for. */
async function reachPrimary(env: Env, up: Upstream): Promise<PrimaryIdentity> {
  const deadline = Date.now() + env.PRIMARY_WAIT_SECONDS * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await identify(up);
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e;
      const where = `PRIMARY_HOST ${up.host}:${up.port}`;
      if (e.kind === "credentials") {
        throw new FatalError(
          `${where} refused the password of ${up.user} (${e.message}). Fix: set REPLICATION_PASSWORD to the value the primary was started with`,
          exitCodes.primary,
        );
      }
      if (e.kind === "certificate") {
        const hostHint = /host name/.test(e.message)
          ? `, or use REPLICATION_SSLMODE=verify-ca, or connect by a name in the primary's certificate (its SERVER_NAME)`
          : "";
        throw new FatalError(
          `the certificate of ${where} is not trusted with ${up.caFile} (${e.message}). Fix: mount the primary's CA_DIR volume on this replica, the CA that signed the primary's certificate${hostHint}`,
          exitCodes.primary,
        );
      }
      if (e.kind === "refused") {
        throw new FatalError(
          `${where} refused replication for ${up.user} (${e.message}). Fix: start the primary with the same REPLICATION_USER and REPLICATION_PASSWORD (it creates the role at start)`,
          exitCodes.primary,
        );
      }
      const left = Math.ceil((deadline - Date.now()) / 1000);
      if (left <= 0) {
        throw new FatalError(
          `${where} did not accept connections within PRIMARY_WAIT_SECONDS=${env.PRIMARY_WAIT_SECONDS} (${attempt} attempts; last: ${e.message}). Fix: check PRIMARY_HOST and PRIMARY_PORT, that the primary runs, and that this container reaches it`,
          exitCodes.primary,
        );
      }
      log("clone-replica", `waiting for ${where} (attempt ${attempt}, ${left} s left): ${e.message}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

async function baseBackup(env: Env, up: Upstream): Promise<string> {
  const r = await run(
    "pg_basebackup",
    ["--pgdata", env.PGDATA, "--dbname", conninfo(up), "--wal-method=stream", "--slot", up.slot, "--checkpoint=fast", "--no-password"],
    {
      env: { PGPASSWORD: up.password },
      timeoutMs: 0,
    },
  );
  if (r.code !== 0) {
    emptyDirectory(env.PGDATA);
    throw new FatalError(
      `pg_basebackup from ${up.host} failed: ${lastLines(r.stderr || r.stdout)}. PGDATA was left empty; the next start tries again`,
      exitCodes.primary,
    );
  }
  return "pg_basebackup";
}

/** The latest backup of the primary's own stanza, restored as a standby (pgBackRest --type=standby). */
async function restoreAsStandby(env: Env, primary: PrimaryIdentity, up: Upstream): Promise<string> {
  if (!backupsEnabled(env)) throw new Error("REPLICA_BOOTSTRAP=backup without a stanza passed validation"); // parseEnv refuses this
  const where = `stanza ${env.PGBACKREST_STANZA} in ${repositoryName(env)}`;
  let stanza: StanzaState;
  try {
    stanza = await readStanza(env);
  } catch (e) {
    if (e instanceof RepositoryError) throw new FatalError(`REPLICA_BOOTSTRAP=backup: ${e.message}`, exitCodes.repository);
    throw e;
  }
  if (!stanza.systemIds.includes(primary.systemId)) {
    throw new FatalError(
      `REPLICA_BOOTSTRAP=backup: ${where} ${stanza.systemIds.length ? `belongs to system ${stanza.systemIds.join(", ")}` : "does not exist"}, but PRIMARY_HOST is system ${primary.systemId}. Fix: use the primary's PGBACKREST_STANZA and S3_* values`,
      exitCodes.repository,
    );
  }
  const latest = latestBackup(stanza.backups);
  if (!latest) {
    throw new FatalError(
      `REPLICA_BOOTSTRAP=backup: ${where} has no backup yet. Fix: wait for the primary's first backup, or use REPLICA_BOOTSTRAP=basebackup`,
      exitCodes.repository,
    );
  }
  // Before the restore (lib/replication.ts): a stop while it waits leaves PGDATA empty.
  let follow: TimelineToFollow;
  try {
    follow = await timelineToFollow(env as BackupEnv, up, latest);
  } catch (e) {
    if (!(e instanceof UpstreamError)) throw e;
    throw new FatalError(
      `REPLICA_BOOTSTRAP=backup: a copy of ${latest.label} could not follow the timeline of ${up.host}:${up.port} yet (${e.message}). PGDATA is untouched; the next start tries again`,
      exitCodes.primary,
    );
  }
  const result = await pgbackrest(
    env as BackupEnv,
    ["restore", "--type=standby", `--set=${latest.label}`, `--recovery-option=restore_command=${archiveGetCommand(env)}`],
    { timeoutMs: 0 },
  );
  if (result.code !== 0) {
    emptyDirectory(env.PGDATA);
    throw new FatalError(
      `REPLICA_BOOTSTRAP=backup: restore failed: ${failureReason(result)}. PGDATA was left empty; the next start tries again`,
      exitCodes.repository,
    );
  }
  writeTimelineHistory(env.PGDATA, follow);
  // The backup carries the state the primary had then ("pending" in its very first full): the
  // stanza it came from is active, and this replica archives into it once promoted.
  markStanzaActive(env.PGDATA, env.PGBACKREST_STANZA);
  return `restoring backup ${latest.label} from the repository (then WAL from the archive and the primary)`;
}
