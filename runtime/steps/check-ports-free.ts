/**
 * PostgreSQL's port already taken in this container's network (host networking, a shared network
 * namespace) is a configuration error known before anything starts: the server would fail after
 * the data directory was prepared. (The metrics port is the metrics service's business: it is
 * optional, so a busy port there is logged and retried while PostgreSQL serves.)
 */
import { createServer } from "node:net";
import { exitCodes } from "../lib/exit-codes.js";
import { did, type Step } from "./step.js";
import { FatalError } from "../errors.js";

export const checkPortsFree: Step = {
  name: "check-ports-free",
  async run({ env }) {
    const wanted: Array<[string, number, string]> = [["POSTGRES_PORT", env.POSTGRES_PORT, "0.0.0.0"]];
    for (const [name, port, address] of wanted) {
      const problem = await bindProblem(port, address);
      if (problem) {
        throw new FatalError(
          `${name}=${port}: ${address}:${port} is already in use in this container's network (${problem}). Fix: choose a free port for ${name}, or stop what listens on it.`,
          exitCodes.config,
        );
      }
    }
    return did(`${wanted.map(([name, port]) => `${name} ${port}`).join(", ")} free`);
  },
};

/** Why `port` cannot be bound, or undefined when it can (the probe is closed at once). */
function bindProblem(port: number, address: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    probe.listen(port, address, () => probe.close(() => resolve(undefined)));
  });
}
