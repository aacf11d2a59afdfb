/**
 * `postgres-ba etcd` (the image's ha target): one etcd v3 member for HA_MODE=patroni, since no
 * registry serves an etcd image here. TLS both ways with the cluster CA (CA_DIR, shared with the
 * PostgreSQL members): its certificate names SERVER_NAME, and it accepts only clients and peers
 * whose certificates that CA signed. Data in /var/lib/postgresql/etcd (the volume). ETCD_*
 * variables reach etcd as it documents them; the flags below fill in only what they leave out,
 * so a three-member store is three containers with ETCD_INITIAL_CLUSTER set.
 */
import { chownSync, mkdirSync } from "node:fs";
import { parseEnv } from "./env/parse.js";
import { log } from "./lib/log.js";
import { runForeground } from "./lib/server.js";
import { tlsPaths } from "./lib/tls-paths.js";
import { becomeAccount, isRoot, postgresAccount } from "./lib/user.js";
import { ensureTls } from "./steps/ensure-tls.js";
import { runStep } from "./steps/step.js";

export const etcdDataDir = "/var/lib/postgresql/etcd";

export async function etcdMember(args: string[]): Promise<number> {
  const env = parseEnv(process.env);
  const account = postgresAccount();
  for (const dir of [env.CA_DIR, env.SSL_CERT_DIR, etcdDataDir]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (isRoot()) chownSync(dir, account.uid, account.gid);
  }
  if (isRoot()) becomeAccount(account);
  await runStep(ensureTls, { env, account, serverArgs: [], hasDatabase: () => false });
  const flags = etcdFlags(env.SERVER_NAME, tlsPaths(env), process.env);
  log("etcd", `etcd member ${env.SERVER_NAME}: clients and peers over TLS with the CA in ${env.CA_DIR}, data in ${etcdDataDir}`);
  return runForeground("etcd", [...flags, ...args], process.env, "SIGTERM", { SIGINT: "SIGTERM" }).exited;
}

/** etcd's flags for a member named `name`, leaving out every one its ETCD_* variable already sets. */
export function etcdFlags(name: string, tls: ReturnType<typeof tlsPaths>, environment: NodeJS.ProcessEnv): string[] {
  const wanted: Array<[flag: string, value: string]> = [
    ["name", name],
    ["data-dir", etcdDataDir],
    ["listen-client-urls", "https://0.0.0.0:2379"],
    ["advertise-client-urls", `https://${name}:2379`],
    ["listen-peer-urls", "https://0.0.0.0:2380"],
    ["initial-advertise-peer-urls", `https://${name}:2380`],
    ["initial-cluster", `${name}=https://${name}:2380`],
    ["cert-file", tls.serverCert],
    ["key-file", tls.serverKey],
    ["trusted-ca-file", tls.caCert],
    ["client-cert-auth", "true"],
    ["peer-cert-file", tls.serverCert],
    ["peer-key-file", tls.serverKey],
    ["peer-trusted-ca-file", tls.caCert],
    ["peer-client-cert-auth", "true"],
  ];
  return wanted.filter(([flag]) => environment[`ETCD_${flag.toUpperCase().replace(/-/g, "_")}`] === undefined).map(([flag, value]) => `--${flag}=${value}`);
}
