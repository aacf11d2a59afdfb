/**
 * TLS is always on. Generates what is missing and never overwrites what exists:
 * - the CA in CA_DIR (shared by a cluster's members through one volume);
 * - this server's certificate in SSL_CERT_DIR, signed by that CA, for SERVER_NAME, the container
 *   host name and localhost; plus root.crt, the CA certificate clients and replicas verify with.
 * Existing certificates are validated (key matches, not expired, chains to the CA through any
 * intermediates in server.crt) instead of replaced. Certificates a user brings need no CA key.
 */
import type { X509Certificate } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { exitCodes } from "../lib/exit-codes.js";
import { type CertFacts, chainsTo, earliestExpiry, expiryProblem, inspectCert, pemCertificates } from "../lib/tls.js";
import { backupClientName, tlsPaths } from "../lib/tls-paths.js";
import type { Env } from "../env/table.js";
import { did, type Step } from "./step.js";
import { FatalError } from "../errors.js";

export const ensureTls: Step = {
  name: "ensure-tls",
  async run({ env }) {
    const p = tlsPaths(env);
    const done: string[] = [];
    const haveCert = existsSync(p.serverCert);
    const haveKey = existsSync(p.serverKey);
    if (haveCert !== haveKey) {
      throw new FatalError(
        `SSL_CERT_DIR ${env.SSL_CERT_DIR} has ${haveCert ? "server.crt but no server.key" : "server.key but no server.crt"}. ` +
          "Fix: provide both files, or remove the one present so a new pair is generated.",
        exitCodes.dataDirectory,
      );
    }
    if (!haveCert) {
      // forge only when something is generated (a first start): a restart never loads it.
      const { generateCa, generateServerCert } = await import("../lib/certificates.js");
      if (!existsSync(p.caCert)) {
        const ca = generateCa(`postgres-ba CA ${env.SERVER_NAME}`);
        writeFileSync(p.caKey, ca.key, { mode: 0o600, flag: "wx" });
        writeFileSync(p.caCert, ca.cert, { mode: 0o644, flag: "wx" });
        done.push(`generated CA ${p.caCert}`);
      } else if (!existsSync(p.caKey)) {
        throw new FatalError(
          `CA_DIR ${env.CA_DIR} has ca.crt but no ca.key, so no server certificate can be signed. ` +
            `Fix: provide server.crt and server.key in ${env.SSL_CERT_DIR}, or mount the CA directory with its key.`,
          exitCodes.dataDirectory,
        );
      }
      const ca = { cert: readFileSync(p.caCert, "utf8"), key: readFileSync(p.caKey, "utf8") };
      const names = [...new Set([env.SERVER_NAME, hostname(), "localhost"])];
      const server = generateServerCert(ca, names, ["127.0.0.1", "::1"]);
      writeFileSync(p.serverKey, server.key, { mode: 0o600, flag: "wx" });
      writeFileSync(p.serverCert, server.cert, { mode: 0o644, flag: "wx" });
      done.push(`generated server certificate for ${names.join(", ")}, valid 10 years`);
    } else {
      // Clients verify with root.crt, replicas with CA_DIR/ca.crt: each present one must anchor
      // the chain in server.crt (leaf, then any intermediates). No CA key is needed for this.
      const anchors = [p.caCert, p.rootCert].filter((f) => existsSync(f));
      let facts: CertFacts;
      try {
        facts = inspectCert(readFileSync(p.serverCert, "utf8"), readFileSync(p.serverKey, "utf8"));
      } catch (e) {
        throw new FatalError(
          `${p.serverCert} or ${p.serverKey} cannot be read as PEM (${(e as Error).message}). Fix: provide a valid PEM certificate and key.`,
          exitCodes.dataDirectory,
        );
      }
      if (!facts.matchesKey) throw new FatalError(`${p.serverKey} does not belong to ${p.serverCert}. Fix: provide the matching key.`, exitCodes.dataDirectory);
      if (facts.notAfter.getTime() < Date.now()) {
        throw new FatalError(
          `${p.serverCert} expired on ${facts.notAfter.toISOString()}. Fix: provide a new certificate, or remove server.crt and server.key to generate one.`,
          exitCodes.dataDirectory,
        );
      }
      const soon = expiryProblem(p.serverCert, earliestExpiry(readFileSync(p.serverCert, "utf8")));
      if (soon) done.push(`WARNING: ${soon}`);
      const notAnchoring = anchors.filter((f) => !signs(f, p.serverCert));
      if (notAnchoring.length) {
        done.push(
          `WARNING: ${p.serverCert} does not chain to ${notAnchoring.join(" or ")} (put intermediates after the server certificate in server.crt): clients verifying with that CA will refuse it`,
        );
      }
      done.push(`kept existing server certificate (valid until ${facts.notAfter.toISOString().slice(0, 10)})`);
    }
    if (!existsSync(p.rootCert) && existsSync(p.caCert)) {
      copyFileSync(p.caCert, p.rootCert);
      done.push("root.crt from the CA");
    }
    const client = await ensureBackupClientCert(env);
    if (client) done.push(client);
    return did(done.join("; "));
  },
};

/**
 * BACKUP_FROM_STANDBY on a primary: the certificate it shows a replica's pgBackRest TLS server,
 * issued by the cluster CA to backupClientName (kept once issued; any member may become the
 * primary, so every member with the setting holds one when the CA key is there).
 */
async function ensureBackupClientCert(env: Env): Promise<string | undefined> {
  const p = tlsPaths(env);
  if (env.BACKUP_FROM_STANDBY === "off") return undefined;
  if (existsSync(p.backupClientCert) && existsSync(p.backupClientKey)) {
    // pgBackRest refuses a key others may read: kept private whatever a copy did to it.
    chmodSync(p.backupClientKey, 0o600);
    return undefined;
  }
  if (!existsSync(p.caKey)) {
    const problem = `BACKUP_FROM_STANDBY=${env.BACKUP_FROM_STANDBY}: CA_DIR ${env.CA_DIR} has no ca.key, so no certificate for ${backupClientName} can be issued`;
    if (env.BACKUP_FROM_STANDBY === "require" && env.PG_MODE === "primary") {
      throw new FatalError(`${problem}. Fix: mount the cluster's CA directory with its key, or BACKUP_FROM_STANDBY=prefer`, exitCodes.config);
    }
    return `WARNING: ${problem}; backups are taken from the primary`;
  }
  const { generateServerCert } = await import("../lib/certificates.js");
  const issued = generateServerCert({ cert: readFileSync(p.caCert, "utf8"), key: readFileSync(p.caKey, "utf8") }, [backupClientName], []);
  // Both anew: half a pair (a key without its certificate) is never used.
  rmSync(p.backupClientKey, { force: true });
  writeFileSync(p.backupClientKey, issued.key, { mode: 0o600, flag: "wx" });
  writeFileSync(p.backupClientCert, issued.cert, { mode: 0o644 });
  return `issued ${p.backupClientCert} to ${backupClientName} (backups from a standby)`;
}

/** Whether the CA file's certificates anchor the chain in certFile; an unreadable CA file does not. */
function signs(caFile: string, certFile: string): boolean {
  try {
    return chainsTo(...leafAndIntermediates(readFileSync(certFile, "utf8")), pemCertificates(readFileSync(caFile, "utf8")));
  } catch {
    return false;
  }
}

function leafAndIntermediates(pem: string): [X509Certificate, X509Certificate[]] {
  const [leaf, ...rest] = pemCertificates(pem);
  return [leaf, rest];
}
