/**
 * Reading certificates with Node's native crypto: the facts checked at every start (key matches,
 * chain, expiry) and the expiry `postgres-ba status` reports. Generation is in certificates.ts.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";

export interface CertFacts {
  /** The server certificate's (the first in the file) expiry. */
  notAfter: Date;
  matchesKey: boolean;
  /** Whether caPem's certificates anchor it (directly or through intermediates in the file); undefined when no CA was given. */
  signedBy: boolean | undefined;
}

/** Every certificate in a PEM text, in order (a server.crt may hold the leaf and its intermediates). */
export function pemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new Error("no PEM certificate found");
  return blocks.map((b) => new X509Certificate(b));
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/**
 * Whether `leaf` leads to one of `anchors` through `intermediates` (in any order), as a client
 * that trusts only the anchors and receives the server's chain would find it. Signatures and
 * issuer names are checked; expiry is not (reported separately).
 */
export function chainsTo(leaf: X509Certificate, intermediates: X509Certificate[], anchors: X509Certificate[]): boolean {
  const pool = [...intermediates];
  let current = leaf;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    if (anchors.some((a) => a.fingerprint256 === current.fingerprint256 || issuedBy(current, a))) return true;
    const next = pool.findIndex((c) => c.ca && issuedBy(current, c));
    if (next < 0) return false;
    current = pool.splice(next, 1)[0];
  }
  return false;
}

/**
 * Facts about an existing certificate, to validate material the user provided or we made earlier.
 * Native crypto rather than forge: user-provided keys may be EC, which forge cannot read.
 * certPem may hold a chain (leaf first, then intermediates); caPem one or more trusted CAs.
 */
export function inspectCert(certPem: string, keyPem: string, caPem?: string): CertFacts {
  const [cert, ...intermediates] = pemCertificates(certPem);
  const signedBy = caPem === undefined ? undefined : chainsTo(cert, intermediates, pemCertificates(caPem));
  return { notAfter: new Date(cert.validTo), matchesKey: cert.checkPrivateKey(createPrivateKey(keyPem)), signedBy };
}

/** The certificate of a chain that expires first (an intermediate may expire before the leaf). */
export interface CertExpiry {
  subject: string;
  serial: string;
  notAfter: Date;
}

export function earliestExpiry(certPem: string): CertExpiry {
  const first = pemCertificates(certPem).sort((a, b) => new Date(a.validTo).getTime() - new Date(b.validTo).getTime())[0];
  return { subject: first.subject.replace(/\n/g, ", "), serial: first.serialNumber, notAfter: new Date(first.validTo) };
}

/** `postgres-ba status` (and each start) warns this many days before a server certificate expires. */
export const certExpiryWarningDays = 30;

/**
 * A problem for a server certificate (the chain in `file`) that expires within
 * certExpiryWarningDays or has expired; undefined when it has time left.
 */
export function expiryProblem(file: string, e: CertExpiry, now = new Date()): string | undefined {
  const msLeft = e.notAfter.getTime() - now.getTime();
  const date = e.notAfter.toISOString().slice(0, 10);
  const which = `server certificate ${file} (${e.subject}, serial ${e.serial})`;
  const renew = "put a new server.crt and server.key in place, then SELECT pg_reload_conf() (no restart needed)";
  if (msLeft <= 0) return `${which} expired on ${date}: clients refuse it; ${renew}`;
  const days = Math.floor(msLeft / 86_400_000);
  if (days >= certExpiryWarningDays) return undefined;
  return `${which} expires on ${date}, in ${days} day(s) (less than ${certExpiryWarningDays}): ${renew}`;
}
