/** A new database needs a superuser password (or an explicit trust), as in the official image. */
import { exitCodes } from "../lib/exit-codes.js";
import { did, FatalError, skipped, type Step } from "./step.js";

export const verifyMinimumEnv: Step = {
  name: "verify-minimum-env",
  run({ env, hasDatabase }) {
    if (hasDatabase()) return skipped("database exists; the password was set at its initialization");
    if (env.RESTORE_FROM_BACKUP) return skipped("the database and its users come from the backup");
    if (env.PG_MODE === "replica") return skipped("a replica is a copy of its primary, users and passwords included");
    if (!env.POSTGRES_PASSWORD && env.POSTGRES_HOST_AUTH_METHOD !== "trust") {
      throw new FatalError(
        "POSTGRES_PASSWORD: database is uninitialized and superuser password is not specified. " +
          'Fix: set POSTGRES_PASSWORD to a non-empty value (e.g. "-e POSTGRES_PASSWORD=password"), or POSTGRES_PASSWORD_FILE, ' +
          "or POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password (not recommended).",
        exitCodes.config,
      );
    }
    if (env.POSTGRES_HOST_AUTH_METHOD === "trust") {
      return did('WARNING: POSTGRES_HOST_AUTH_METHOD="trust" allows anyone who reaches the port to connect without a password');
    }
    return did("superuser password provided");
  },
};
