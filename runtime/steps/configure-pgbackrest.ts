/** Writes pgbackrest.conf from the environment (no secrets in it). Rewritten at every start. */
import { rmSync, writeFileSync } from "node:fs";
import { backupsEnabled, repositories, repositoryName, repositoryWording, unusedRepositoryVariables } from "../env/parse.js";
import { exitCodes } from "../lib/exit-codes.js";
import {
  gcsKeyPath,
  pgbackrestConfPath,
  renderPgbackrestConf,
  renderStandbyServerConf,
  singleRepositoryConfPath,
  standbyServerConfPath,
} from "../render/pgbackrest-conf.js";
import { did, skipped, type Step } from "./step.js";
import { FatalError } from "../errors.js";

export const configurePgbackrest: Step = {
  name: "configure-pgbackrest",
  run({ env }) {
    if (!backupsEnabled(env)) return skipped("PGBACKREST_STANZA is not set: drop-in mode, no backups");
    // pg1-user holds any name (spaces, quotes, non-ASCII), but pgBackRest trims the ends of every value.
    if (env.POSTGRES_USER !== env.POSTGRES_USER.trim()) {
      throw new FatalError(
        `POSTGRES_USER=${JSON.stringify(env.POSTGRES_USER)} begins or ends with white space, which pgBackRest cannot read back from pgbackrest.conf (it trims values). Fix: a superuser name without leading or trailing spaces, or no PGBACKREST_STANZA`,
        exitCodes.config,
      );
    }
    writeFileSync(pgbackrestConfPath, renderPgbackrestConf(env), { mode: 0o640 });
    for (const index of [1, 2] as const) rmSync(singleRepositoryConfPath(index), { force: true });
    rmSync(standbyServerConfPath, { force: true });
    if (env.BACKUP_FROM_STANDBY !== "off") writeFileSync(standbyServerConfPath, renderStandbyServerConf(env), { mode: 0o640 });
    if (env.secondRepository) {
      for (const r of repositories(env)) writeFileSync(singleRepositoryConfPath(r.index), renderPgbackrestConf(env, r), { mode: 0o640 });
    }
    // pgBackRest reads a GCS service account key from a file; the secret's own file (compose
    // secrets) is often root's only, so postgres gets a private copy.
    // Removed first in any case: a key from before a switch to a token, auto or another repository does not stay behind.
    for (const index of [1, 2] as const) rmSync(gcsKeyPath(index), { force: true });
    for (const { index, settings: repository } of repositories(env)) {
      if (repository.REPO_TYPE === "gcs" && repository.GCS_KEY_TYPE === "service" && repository.GCS_KEY !== undefined)
        writeFileSync(gcsKeyPath(index), repository.GCS_KEY, { mode: 0o600 });
    }
    const unused = unusedRepositoryVariables(env, process.env);
    const types = repositories(env)
      .map((r) => repositoryWording(r, `REPO_TYPE=${r.settings.REPO_TYPE}`))
      .join(" and ");
    const ignored = unused.length ? `; ignored, ${types} ${env.secondRepository ? "do" : "does"} not use them: ${unused.join(", ")}` : "";
    const places = repositories(env)
      .map((r) => repositoryName(r.settings))
      .join(" and ");
    return did(`${pgbackrestConfPath} for stanza ${env.PGBACKREST_STANZA} in ${places}${ignored}`);
  },
};
