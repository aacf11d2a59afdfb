/**
 * HA_MODE=patroni: the store Patroni elects through (etcd, or the Kubernetes API) accepts
 * connections before anything is written. Patroni itself would wait for it forever at start,
 * warning every 5 s (ensure_dcs_access); a member waits HA_STORE_WAIT_SECONDS (the store may be
 * starting beside it, as in compose), then exits with one line naming the store.
 */
import { connect } from "node:net";
import { exitCodes } from "../lib/exit-codes.js";
import { log } from "../lib/log.js";
import { storeName } from "../lib/patroni.js";
import { sleep } from "../lib/supervisor.js";
import { did, type Step } from "./step.js";
import { FatalError } from "../errors.js";

export const waitForStore: Step = {
  name: "wait-for-store",
  async run({ env }) {
    const endpoints =
      env.HA_STORE === "kubernetes"
        ? [`${process.env.KUBERNETES_SERVICE_HOST}:${process.env.KUBERNETES_SERVICE_PORT ?? "443"}`]
        : (env.HA_ETCD_HOSTS ?? "").split(",");
    const deadline = Date.now() + env.HA_STORE_WAIT_SECONDS * 1000;
    for (let attempt = 1; ; attempt++) {
      const answers = await Promise.all(endpoints.map(async (endpoint) => [endpoint, await connectProblem(endpoint)] as const));
      const answering = answers.find(([, problem]) => problem === undefined);
      if (answering) return did(`${storeName(env)}: ${answering[0]} accepts connections`);
      const problems = answers.map(([endpoint, problem]) => `${endpoint}: ${problem}`).join("; ");
      if (Date.now() >= deadline) {
        throw new FatalError(
          `${storeName(env)} did not accept connections within HA_STORE_WAIT_SECONDS=${env.HA_STORE_WAIT_SECONDS} (${problems}): Patroni can neither lead nor follow without it, and nothing was written. ` +
            `Fix: start the store first (\`postgres-ba etcd\` runs one) or correct ${env.HA_STORE === "kubernetes" ? "the pod's access to the API" : "HA_ETCD_HOSTS"}, then start this member again (a restart policy does)`,
          exitCodes.primary,
        );
      }
      if (attempt === 1) log("wait-for-store", `waiting up to ${env.HA_STORE_WAIT_SECONDS} s for ${storeName(env)} (${problems})`);
      await sleep(Math.min(2000, Math.max(0, deadline - Date.now())));
    }
  },
};

/** Why a TCP connection to host:port fails within 3 s, or undefined when it is accepted (and closed at once). */
function connectProblem(endpoint: string): Promise<string | undefined> {
  const separator = endpoint.lastIndexOf(":");
  return new Promise((resolve) => {
    const port = Number(endpoint.slice(separator + 1));
    // connect() throws on a port out of range instead of reporting it.
    if (!Number.isInteger(port) || port < 1 || port > 65535) return resolve(`port ${endpoint.slice(separator + 1)} out of range`);
    const socket = connect({ host: endpoint.slice(0, separator), port, timeout: 3000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve("no answer within 3 s");
    });
    socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}
