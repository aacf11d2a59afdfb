/**
 * A container killed without a clean shutdown leaves postmaster.pid behind. PostgreSQL treats it
 * as stale only when no process has that PID; in a fresh container the PID is often taken by
 * something else (a thread of this runtime, say) and the server would refuse to start. A PID
 * that is not a running postgres process here cannot be a server using this directory.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { did, skipped, type Step } from "./step.js";

export const clearStaleLock: Step = {
  name: "clear-stale-lock",
  run({ env }) {
    const lock = join(env.PGDATA, "postmaster.pid");
    if (!existsSync(lock)) return skipped("no postmaster.pid");
    const pid = Number(readFileSync(lock, "utf8").split("\n")[0]);
    const comm = `/proc/${pid}/comm`;
    if (pid > 0 && existsSync(comm) && readFileSync(comm, "utf8").trim() === "postgres") {
      return skipped(`postmaster.pid names PID ${pid}, a running postgres: PostgreSQL decides`);
    }
    rmSync(lock);
    return did(`removed postmaster.pid of PID ${pid}, which is not a running postgres (the last stop was not clean; PostgreSQL recovers from its WAL)`);
  },
};
