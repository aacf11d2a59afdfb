/** Writes pgbackrest.conf from the environment (no secrets in it). Rewritten at every start. */
import { writeFileSync } from "node:fs";
import { backupsEnabled } from "../env/parse.js";
import { pgbackrestConfPath, renderPgbackrestConf } from "../render/pgbackrest-conf.js";
import { did, skipped, type Step } from "./step.js";

export const configurePgbackrest: Step = {
  name: "configure-pgbackrest",
  run({ env }) {
    if (!backupsEnabled(env)) return skipped("PGBACKREST_STANZA is not set: drop-in mode, no backups");
    writeFileSync(pgbackrestConfPath, renderPgbackrestConf(env), { mode: 0o640 });
    return did(`${pgbackrestConfPath} for stanza ${env.PGBACKREST_STANZA} in s3://${env.S3_BUCKET}${env.S3_PATH}`);
  },
};
