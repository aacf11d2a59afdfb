/**
 * Refuses data in the pre-18 layout, like the official 18 image: read-only, runs before anything
 * is created. Idempotent: it only looks.
 */
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { exitCodes } from "../lib/exit-codes.js";
import { skipped, type Step } from "./step.js";
import { FatalError } from "../errors.js";

export const checkOldLayout: Step = {
  name: "check-old-layout",
  run({ env, hasDatabase }) {
    if (hasDatabase()) return skipped("PGDATA already holds a database");
    const root = "/var/lib/postgresql";
    const suspects = [
      join(root, "data"),
      ...listDirs(root)
        .filter((d) => /^\d+$/.test(d))
        .map((d) => join(root, d, "docker")),
    ];
    const found = suspects.find((dir) => dir !== env.PGDATA && existsSync(join(dir, "PG_VERSION")));
    if (found) {
      throw new FatalError(
        `PGDATA ${env.PGDATA} is empty but PostgreSQL data exists in ${found} (old layout or another major version). ` +
          `In 18+ images data lives in /var/lib/postgresql/18/docker with one volume at /var/lib/postgresql. ` +
          `Fix: upgrade that data with pg_upgrade, or set PGDATA=${found} if it is PostgreSQL 18 data, or mount the volume at ${dirname(dirname(env.PGDATA))}.`,
        exitCodes.dataDirectory,
      );
    }
    return skipped("no data in an old layout found");
  },
};

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
