/** A new database needs a superuser password (or an explicit trust), as in the official image. */
import { exitCodes } from "../lib/exit-codes.js";
import { did, type Step } from "./step.js";
import { FatalError } from "../errors.js";

export const verifyMinimumEnv: Step = {
  name: "verify-minimum-env",
  // The initialize path only: restored and cloned data brings its users and passwords along.
  run({ env }) {
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
