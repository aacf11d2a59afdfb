/**
 * Pure certificate generation: node-forge lays out the certificate, Node's native crypto makes the
 * keys and the signature (forge's own RSA in JavaScript took about 0.7 s a signature without V8's
 * optimising compilers, which the resident runtime runs without: image/Dockerfile's node-flags). Kept apart from
 * tls.ts (which reads certificates with Node's own crypto) and imported only when something must
 * be generated, so a restart and every `postgres-ba` command skip evaluating it.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import forge from "node-forge";

export interface PemPair {
  cert: string;
  key: string;
}

const validYears = 10;

/** An RSA key pair from Node's crypto: the public key in forge's form for a certificate, the private key as PKCS#8 PEM. */
export function newKeys(): { publicKey: forge.pki.PublicKey; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { publicKey: forge.pki.publicKeyFromPem(publicKey), pem: privateKey };
}

// forge exports getTBSCertificate (its own cert.sign uses it); @types/node-forge leaves it out.
const { getTBSCertificate } = forge.pki as typeof forge.pki & { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 };

/** Signs `cert` (sha256WithRSAEncryption) with the issuer's PEM private key, as forge's cert.sign would, natively. */
export function signCert(cert: forge.pki.Certificate, issuerKeyPem: string): void {
  const issuerKey = createPrivateKey(issuerKeyPem);
  if (issuerKey.asymmetricKeyType !== "rsa")
    throw new Error(
      `the CA's key is ${issuerKey.asymmetricKeyType}, not RSA: certificates are signed with RSA here. Fix: use an RSA CA key, or provide server.crt and server.key yourself`,
    );
  cert.signatureOid = forge.pki.oids.sha256WithRSAEncryption;
  cert.siginfo.algorithmOid = cert.signatureOid;
  const tbs = forge.asn1.toDer(getTBSCertificate(cert)).getBytes();
  cert.signature = sign("sha256", Buffer.from(tbs, "binary"), issuerKey).toString("binary");
}

/** An unsigned certificate for `publicKey`: a random positive serial, valid from a minute ago until `notAfter` (10 years by default). */
export function baseCert(publicKey: forge.pki.PublicKey, now: Date, notAfter = yearsLater(now, validYears)): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive serial: a leading 0x00 byte would be dropped, a high bit would make it negative.
  cert.serialNumber = `01${randomBytes(15).toString("hex")}`;
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = notAfter;
  return cert;
}

function yearsLater(now: Date, years: number): Date {
  const later = new Date(now);
  later.setFullYear(now.getFullYear() + years);
  return later;
}

export function generateCa(commonName: string, now = new Date()): PemPair {
  const keys = newKeys();
  const cert = baseCert(keys.publicKey, now);
  const attrs = [
    { name: "commonName", value: commonName },
    { name: "organizationName", value: "postgres-ba" },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  signCert(cert, keys.pem);
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

/** A server certificate for the given DNS names (first is the common name) and IP addresses. */
export function generateServerCert(ca: PemPair, dnsNames: string[], ips: string[], now = new Date()): PemPair {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const keys = newKeys();
  const cert = baseCert(keys.publicKey, now);
  cert.setSubject([
    { name: "commonName", value: dnsNames[0] },
    { name: "organizationName", value: "postgres-ba" },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    // clientAuth too: the same certificate can authenticate this server to a primary.
    { name: "extKeyUsage", serverAuth: true, clientAuth: true },
    { name: "subjectAltName", altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))] },
    { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signCert(cert, ca.key);
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}
