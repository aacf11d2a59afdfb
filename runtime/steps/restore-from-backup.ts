/**
 * RESTORE_FROM_BACKUP: brings an empty PGDATA back from S3. Checks the repository first (read
 * only), so a missing backup, wrong keys or an unreachable endpoint stop the container before
 * PGDATA or the bucket change. A marker beside PGDATA, written before pgBackRest starts and
 * removed when it succeeded, means "half restored": the next start never serves that directory
 * but resumes with a delta restore. An existing database is never overwritten unless
 * RESTORE_DELTA=true asks for a delta restore over it.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { backupsEnabled } from "../env/parse.js";
import { exitCodes } from "../lib/exit-codes.js";
import { failureReason, pgbackrest } from "../lib/pgbackrest.js";
import { readStanza, RepositoryError } from "../lib/repository.js";
import { planRestore, RestorePlanError } from "../lib/restore-plan.js";
import { markStanzaActive, restoreMarkerPath } from "../lib/state.js";
import { did, FatalError, skipped, type Step } from "./step.js";

export const restoreFromBackup: Step = {
  name: "restore-from-backup",
  async run(ctx) {
    const { env } = ctx;
    const marker = restoreMarkerPath(env.PGDATA);
    const interrupted = existsSync(marker);
    if (!env.RESTORE_FROM_BACKUP) {
      if (interrupted) {
        throw new FatalError(
          `PGDATA ${env.PGDATA} holds an unfinished restore (${marker}); it is not started half restored. ` +
            "Fix: start again with RESTORE_FROM_BACKUP=true to resume it, or empty the volume to initialize a new database.",
          exitCodes.dataDirectory,
        );
      }
      return skipped("RESTORE_FROM_BACKUP is not set");
    }
    if (!backupsEnabled(env)) throw new Error("RESTORE_FROM_BACKUP without a stanza passed validation"); // parseEnv refuses this
    const hasData = ctx.hasDatabase() || (existsSync(env.PGDATA) && readdirSync(env.PGDATA).length > 0);
    if (hasData && !interrupted && !env.RESTORE_DELTA) {
      return skipped(`PGDATA already holds a database, which is never overwritten; set RESTORE_DELTA=true to repair it with a delta restore`);
    }

    let plan;
    try {
      const stanza = await readStanza(env);
      if (stanza.code === 1 || stanza.code === 3) throw new RestorePlanError(`stanza ${env.PGBACKREST_STANZA} does not exist in s3://${env.S3_BUCKET}${env.S3_PATH}`, "check S3_BUCKET, S3_PATH and PGBACKREST_STANZA");
      plan = planRestore(env, stanza.backups, new Date());
    } catch (e) {
      if (e instanceof RestorePlanError || e instanceof RepositoryError) throw new FatalError(`RESTORE_FROM_BACKUP=true: ${e.message}`, exitCodes.repository);
      throw e;
    }

    const delta = hasData || interrupted;
    writeFileSync(marker, JSON.stringify({ startedAt: new Date().toISOString(), set: plan.set }) + "\n", { mode: 0o600 });
    const started = Date.now();
    const result = await pgbackrest(env, [...plan.args, ...(delta ? ["--delta"] : [])], { timeoutMs: 0 });
    if (result.code !== 0) {
      throw new FatalError(`restore of ${plan.set} failed: ${failureReason(result)}. PGDATA is marked unfinished; the next start resumes it with a delta restore.`, exitCodes.repository);
    }
    // The marker inside a backup is whatever it was while that backup ran ("pending" in the very
    // first full). The stanza we restored from is active by definition: continue on it.
    markStanzaActive(env.PGDATA, env.PGBACKREST_STANZA);
    rmSync(marker);
    const how = interrupted ? "resumed an interrupted restore with --delta" : delta ? "delta restore over the existing PGDATA" : "restored";
    return did(`${how}: ${plan.summary}, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
};
