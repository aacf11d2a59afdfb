/**
 * Patroni as seen through its REST API on this member (TLS with the server certificate, checked
 * against the cluster CA): its role and state for the runtime's leader-only services and for
 * `postgres-ba status`.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import type { Env } from "../env/table.js";
import { readJsonIfExists, runtimeDir, writeJsonAtomic } from "./state.js";
import { httpsModule } from "./builtin.js";
import { tlsPaths } from "./tls-paths.js";
import { patroniRestUser } from "../render/patroni-conf.js";

/** The fields of GET /patroni the runtime reads. */
export interface PatroniMember {
  /** primary, replica, standby_leader, ... (Patroni 4's names). */
  role: string;
  /** running, starting, stopped, ... */
  state: string;
  timeline?: number;
  /** When this member last reached the store (seconds since the epoch). */
  dcs_last_seen?: number;
}

/**
 * The pod's namespace, as Kubernetes tells its service account: Patroni keeps the cluster's
 * state there and finds its members' pods there. "default" outside a pod, as Patroni assumes.
 */
export function podNamespace(): string {
  try {
    return readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "utf8").trim() || "default";
  } catch {
    return "default";
  }
}

/** The store Patroni keeps the cluster's state in, as status and the logs name it. */
export function storeName(env: Env): string {
  return env.HA_STORE === "kubernetes" ? `the Kubernetes API (namespace ${podNamespace()})` : `etcd (${env.HA_ETCD_HOSTS})`;
}

/** One answer of this member's REST API; rejects when it does not answer within the timeout. */
export function patroniGet<T>(env: Env, path: string, timeoutMs = 3000): Promise<{ status: number; body: T | undefined; text: string }> {
  return patroniRequest<T>(env, "GET", path, undefined, timeoutMs);
}

/**
 * A request to this member's REST API over TLS, verified against the cluster CA; a body makes it
 * a change, signed with HA_REST_PASSWORD. The answer's JSON, when it is JSON, and its text.
 */
export function patroniRequest<T>(
  env: Env,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  timeoutMs = 3000,
): Promise<{ status: number; body: T | undefined; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const { request } = httpsModule();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: env.HA_REST_PORT,
        path,
        method,
        ca: readFileSync(tlsPaths(env).caCert),
        // The name other members reach it at, which its certificate must hold anyway (a
        // certificate the user brings need not name 127.0.0.1); an IP is checked as the host.
        ...(isIP(env.HA_ADVERTISE_ADDRESS) ? {} : { servername: env.HA_ADVERTISE_ADDRESS }),
        timeout: timeoutMs,
        ...(payload === undefined
          ? {}
          : {
              auth: `${patroniRestUser}:${env.HA_REST_PASSWORD ?? ""}`,
              headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
            }),
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          let parsed: T | undefined;
          try {
            parsed = JSON.parse(text) as T;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text: text.trim() });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`Patroni's REST API on port ${env.HA_REST_PORT} did not answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

export async function patroniMember(env: Env): Promise<PatroniMember> {
  const { body } = await patroniGet<PatroniMember>(env, "/patroni");
  if (!body?.role) throw new Error("Patroni's REST API answered /patroni without a role");
  return body;
}

/**
 * The last timeline this member led, beside PGDATA (not in it: clones and rewinds copy PGDATA
 * from another member). A leader on another timeline was promoted since.
 */
function leaderRecordPath(pgdata: string): string {
  return join(runtimeDir(pgdata), "ha-leader.json");
}

export function readLeaderTimeline(pgdata: string): number | undefined {
  return readJsonIfExists<{ timeline: number }>(leaderRecordPath(pgdata))?.timeline;
}

export function recordLeaderTimeline(pgdata: string, timeline: number): void {
  writeJsonAtomic(leaderRecordPath(pgdata), { timeline, at: new Date().toISOString() });
}

/** A member as GET /cluster lists it. */
export interface ClusterMember {
  name: string;
  /** leader, replica, sync_standby, quorum_standby, standby_leader. */
  role: string;
  state: string;
  timeline?: number;
  /** Where its PostgreSQL listens (from its connect_address). */
  host?: string;
  port?: number;
  /** Bytes behind the leader; "unknown" when Patroni cannot tell. */
  lag?: number | string;
}

export async function patroniCluster(env: Env): Promise<ClusterMember[]> {
  const { body } = await patroniGet<{ members?: ClusterMember[] }>(env, "/cluster");
  if (!body?.members) throw new Error("Patroni's REST API answered /cluster without members");
  return body.members;
}
