/**
 * Test certificate authorities, made with node-forge. testCa() is the harness's own (the S3
 * server's; every bucket and container trusts it), one per process. ownCa() and its helpers make
 * what a user brings: a root, an intermediate it signs, server certificates from either, with
 * chosen host names and validity, and no private key of a CA ever leaves the test process.
 */
import forge from "node-forge";
import { baseCert, generateCa, generateServerCert, newKeys, type PemPair, signCert } from "../runtime/lib/certificates.js";

let ca: PemPair | undefined;

export function testCa(): PemPair {
  ca ??= generateCa("postgres-pgbackrest test CA");
  return ca;
}

export function testServerCert(dnsNames: string[]): PemPair {
  return generateServerCert(testCa(), dnsNames, ["127.0.0.1"]);
}

const dayMs = 86_400_000;

/** A certificate skeleton valid for `days` from now (the runtime's, with a chosen validity). */
function newCert(publicKey: forge.pki.PublicKey, days: number): forge.pki.Certificate {
  return baseCert(publicKey, new Date(), new Date(Date.now() + days * dayMs));
}

/** A CA as a user's PKI has it: self-signed root, or an intermediate signed by `issuer`. */
export function ownCa(commonName: string, issuer?: PemPair, days = 3650): PemPair {
  const keys = newKeys();
  const cert = newCert(keys.publicKey, days);
  const subject = [
    { name: "commonName", value: commonName },
    { name: "organizationName", value: "Acme test PKI" },
  ];
  cert.setSubject(subject);
  const extensions: object[] = [
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ];
  if (issuer) {
    const issuerCert = forge.pki.certificateFromPem(issuer.cert);
    cert.setIssuer(issuerCert.subject.attributes);
    extensions.push({ name: "authorityKeyIdentifier", keyIdentifier: issuerCert.generateSubjectKeyIdentifier().getBytes() });
    cert.setExtensions(extensions);
    signCert(cert, issuer.key);
  } else {
    cert.setIssuer(subject);
    cert.setExtensions(extensions);
    signCert(cert, keys.pem);
  }
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

/** A server certificate signed by `issuer` for these DNS names (the first is the CN) and 127.0.0.1, valid `days`. */
export function ownServerCert(issuer: PemPair, dnsNames: string[], days = 365): PemPair {
  const issuerCert = forge.pki.certificateFromPem(issuer.cert);
  const keys = newKeys();
  const cert = newCert(keys.publicKey, days);
  cert.setSubject([
    { name: "commonName", value: dnsNames[0] },
    { name: "organizationName", value: "Acme test PKI" },
  ]);
  cert.setIssuer(issuerCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true, clientAuth: true },
    { name: "subjectAltName", altNames: [...dnsNames.map((value) => ({ type: 2, value })), { type: 7, ip: "127.0.0.1" }] },
    { name: "authorityKeyIdentifier", keyIdentifier: issuerCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signCert(cert, issuer.key);
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}
