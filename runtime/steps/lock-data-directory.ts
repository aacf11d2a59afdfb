/**
 * Before anything touches PGDATA: take the data directory's lock, or stop. A second container
 * started on a volume in use by a running one exits here with one line; the first keeps serving.
 */
import { lockDataDirectory } from "../lib/data-lock.js";
import { exitCodes } from "../lib/exit-codes.js";
import { did, type Step } from "./step.js";
import { DataLockError, FatalError } from "../errors.js";

export const lockDataDirectoryStep: Step = {
  name: "lock-data-directory",
  async run({ env }) {
    try {
      return did(`holding ${await lockDataDirectory(env.PGDATA)} while this container runs`);
    } catch (e) {
      if (!(e instanceof DataLockError)) throw e;
      throw new FatalError(
        `PGDATA ${env.PGDATA} is in use by another server (${e.message}); a second server on one data directory corrupts it, so nothing was started or changed. ` +
          "Fix: stop the other container first, or give this one its own volume.",
        exitCodes.dataDirectory,
      );
    }
  },
};
