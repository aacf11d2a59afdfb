/**
 * PG_MODE=replica on a data directory that is not a standby: either a replica promoted here
 * (it stays the primary) or an old primary told to follow the new one (it rejoins). Decided by
 * asking PRIMARY_HOST, never by guessing:
 * - unreachable, a standby, or not on a newer timeline: this directory stays a primary;
 * - another cluster: refused;
 * - same cluster on a newer timeline: pg_rewind to it, then stream. If pg_rewind fails the old
 *   data is moved aside (never deleted) and clone-replica makes a fresh clone.
 */
import { mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { backupsEnabled } from "../env/parse.js";
import { controlData } from "../lib/control-data.js";
import { lastLines, run } from "../lib/exec.js";
import { exitCodes } from "../lib/exit-codes.js";
import { conninfo, ensureSlot, identify, type PrimaryIdentity, recordSlot, upstreamOf } from "../lib/replication.js";
import { runtimeDir } from "../lib/state.js";
import { pgbackrestChildEnv } from "../render/pgbackrest-conf.js";
import { did, skipped, type Step } from "./step.js";
import { FatalError, UpstreamError } from "../errors.js";

export const rejoinAsReplica: Step = {
  name: "rejoin-as-replica",
  // Runs on the rejoin-or-stay path only: PG_MODE=replica on a primary's data.
  async run({ env }) {
    const up = upstreamOf(env);
    const ours = await controlData(env.PGDATA);
    let theirs: PrimaryIdentity;
    try {
      theirs = await identify(up);
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e;
      return skipped(
        `this data directory is a primary (timeline ${ours.timeline}) and PRIMARY_HOST ${up.host} cannot be compared with it (${e.kind}: ${e.message}): it stays a primary`,
      );
    }
    if (theirs.systemId !== ours.systemId) {
      throw new FatalError(
        `PGDATA holds cluster ${ours.systemId} but PRIMARY_HOST ${up.host} is cluster ${theirs.systemId}: it cannot become a replica of another cluster. ` +
          "Fix: point PRIMARY_HOST at this cluster's primary, or give this container an empty volume to clone a new replica",
        exitCodes.dataDirectory,
      );
    }
    if (theirs.standby)
      return skipped(`PRIMARY_HOST ${up.host} is a standby on timeline ${theirs.timeline}: this data directory (timeline ${ours.timeline}) stays the primary`);
    if (theirs.timeline <= ours.timeline) {
      return skipped(`PRIMARY_HOST ${up.host} is on timeline ${theirs.timeline}, not newer than this data directory's ${ours.timeline}: it stays a primary`);
    }
    await ensureSlot(up);
    // --restore-target-wal fetches this server's own WAL from the archive when pg_wal no longer has it.
    const rewind = await run(
      "pg_rewind",
      ["--target-pgdata", env.PGDATA, "--source-server", conninfo(up, { dbname: "postgres" }), ...(backupsEnabled(env) ? ["--restore-target-wal"] : [])],
      {
        env: { PGPASSWORD: up.password, ...(backupsEnabled(env) ? pgbackrestChildEnv(env, process.env) : {}) },
        timeoutMs: 0,
      },
    );
    if (rewind.code === 0) {
      writeFileSync(join(env.PGDATA, "standby.signal"), "");
      recordSlot(env.PGDATA, up.slot);
      const said = /no rewind required/.test(rewind.stdout + rewind.stderr)
        ? "nothing to rewind: it had stopped where the new timeline began"
        : "rewound with pg_rewind";
      return did(`old primary (timeline ${ours.timeline}) ${said}, to follow ${up.host} (timeline ${theirs.timeline}); it streams through slot ${up.slot}`);
    }
    const aside = join(runtimeDir(env.PGDATA), `${basename(env.PGDATA)}.before-rejoin-${new Date().toISOString().replace(/[:.]/g, "-")}`);
    mkdirSync(aside, { mode: 0o700 });
    // Entry by entry: PGDATA itself may be a mount point.
    for (const entry of readdirSync(env.PGDATA)) renameSync(join(env.PGDATA, entry), join(aside, entry));
    return did(
      `pg_rewind failed (${lastLines(rewind.stderr || rewind.stdout, 2)}); the old data was moved to ${aside} (delete it when no longer needed) and clone-replica makes a fresh clone`,
    );
  },
};
