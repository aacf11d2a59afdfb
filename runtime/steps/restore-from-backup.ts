/**
 * The restore path (chosen by datadir/state.ts: an empty PGDATA with RESTORE_FROM_BACKUP, a delta
 * repair asked for by a new request, or an interrupted restore to resume). Checks the repository
 * first (read only), so a missing backup, wrong keys or an unreachable endpoint stop the
 * container before PGDATA or the bucket change. A marker beside PGDATA, written before
 * pgBackRest starts and removed when it succeeded, means "half restored": the next start never
 * serves that directory but resumes. The request applied (every RESTORE_* value) is recorded
 * beside PGDATA, so a restart with the same values still set starts the data it has.
 */
import { rmSync, writeFileSync } from "node:fs";
import { backupsEnabled, repositories, repositoryName, repositoryVariables, repositoryWording } from "../env/parse.js";
import { exitCodes } from "../lib/exit-codes.js";
import { failureReason, pgbackrest } from "../lib/pgbackrest.js";
import { readStanza } from "../lib/repository.js";
import { planRestore, type RestorePlan } from "../lib/restore-plan.js";
import { markStanzaActive, restoreMarkerPath, restoreRecordPath, writeJsonAtomic, type RestoreRecord } from "../lib/state.js";
import { did, type Step } from "./step.js";
import { FatalError, RepositoryError, RestorePlanError } from "../errors.js";

export const restoreFromBackup: Step = {
  name: "restore-from-backup",
  async run({ env, path }) {
    if (path?.kind !== "restore") throw new Error("restore-from-backup runs only on the restore path");
    if (!backupsEnabled(env)) throw new Error("RESTORE_FROM_BACKUP without a stanza passed validation"); // parseEnv refuses this
    const marker = restoreMarkerPath(env.PGDATA);
    const record = restoreRecordPath(env.PGDATA);

    // RESTORE_REPO: that repository only; otherwise the newest fitting backup of any (pgBackRest finds the set's repository).
    const from = repositories(env).filter((r) => env.RESTORE_REPO === undefined || r.index === env.RESTORE_REPO);
    const repo = env.RESTORE_REPO === undefined ? [] : [`--repo=${env.RESTORE_REPO}`];
    let plan: RestorePlan;
    try {
      const stanza = await readStanza(env, { repoTargetTime: env.RESTORE_REPO_TARGET_TIME, repo: env.RESTORE_REPO as 1 | 2 | undefined });
      if (stanza.code === 1 || stanza.code === 3)
        throw new RestorePlanError(
          `stanza ${env.PGBACKREST_STANZA} does not exist in ${from.map((r) => repositoryName(r.settings)).join(" or ")}`,
          `${from.map((r) => repositoryWording(r, `check ${repositoryVariables(r.settings)}`)).join(" and ")} and PGBACKREST_STANZA`,
        );
      // Its lines name the variables of the one repository read (REPO2_* for RESTORE_REPO=2).
      const planned = from.length === 1 ? from[0] : undefined;
      try {
        plan = planRestore(planned ? { ...env, REPO_TYPE: planned.settings.REPO_TYPE } : env, stanza.backups, new Date());
      } catch (e) {
        if (e instanceof RestorePlanError && planned) throw new RestorePlanError(repositoryWording(planned, e.problem), repositoryWording(planned, e.fix));
        throw e;
      }
    } catch (e) {
      if (e instanceof RestorePlanError || e instanceof RepositoryError) throw new FatalError(`RESTORE_FROM_BACKUP=true: ${e.message}`, exitCodes.repository);
      throw e;
    }

    const delta = path.how !== "new";
    writeFileSync(marker, `${JSON.stringify({ startedAt: new Date().toISOString(), set: plan.set })}\n`, { mode: 0o600 });
    const started = Date.now();
    const asOf = env.RESTORE_REPO_TARGET_TIME ? [`--repo-target-time=${env.RESTORE_REPO_TARGET_TIME}`] : [];
    const result = await pgbackrest(env, [...plan.args, ...repo, ...asOf, ...(delta ? ["--delta"] : [])], { timeoutMs: 0 });
    if (result.code !== 0) {
      throw new FatalError(
        `restore of ${plan.set} failed: ${failureReason(result)}. PGDATA is marked unfinished; ${env.HA_MODE === "patroni" ? "it is never started half restored" : "the next start resumes it with a delta restore"}.`,
        exitCodes.repository,
      );
    }
    // The marker inside a backup is whatever it was while that backup ran ("pending" in the very
    // first full). The stanza we restored from is active by definition: continue on it.
    markStanzaActive(env.PGDATA, env.PGBACKREST_STANZA);
    writeJsonAtomic(record, { request: path.request, set: plan.set, appliedAt: new Date().toISOString() } satisfies RestoreRecord);
    rmSync(marker);
    const how =
      path.how === "resume" ? "resumed an interrupted restore with --delta" : path.how === "delta" ? "delta restore over the existing PGDATA" : "restored";
    return did(`${how}: ${plan.summary}, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
};
