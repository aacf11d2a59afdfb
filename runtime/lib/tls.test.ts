import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ownCa, ownServerCert } from "../../harness/test-ca.js";
import { generateCa, generateServerCert } from "./certificates.js";
import { chainsTo, earliestExpiry, inspectCert, pemCertificates } from "./tls.js";

describe("TLS generation", () => {
  const now = new Date("2026-11-25T00:00:00Z");
  const ca = generateCa("test CA", now);
  const server = generateServerCert(ca, ["db-primary", "localhost"], ["127.0.0.1"], now);

  it("makes a CA and a server certificate it signs, valid for 10 years", () => {
    const caCert = new X509Certificate(ca.cert);
    const cert = new X509Certificate(server.cert);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(new Date(cert.validTo).getUTCFullYear()).toBe(2036);
  });

  it("names the server, the extra host names and addresses", () => {
    const cert = new X509Certificate(server.cert);
    expect(cert.subject).toContain("CN=db-primary");
    expect(cert.subjectAltName).toBe("DNS:db-primary, DNS:localhost, IP Address:127.0.0.1");
    expect(cert.checkHost("localhost")).toBe("localhost");
  });

  it("inspects existing material: matching key, signer, expiry", () => {
    const other = generateCa("other CA", now);
    expect(inspectCert(server.cert, server.key, ca.cert)).toMatchObject({ matchesKey: true, signedBy: true });
    expect(inspectCert(server.cert, other.key, other.cert)).toMatchObject({ matchesKey: false, signedBy: false });
  });
});

describe("certificates a user brings", () => {
  const root = ownCa("Acme Root");
  const intermediate = ownCa("Acme Issuing 1", root, 1000);
  const leaf = ownServerCert(intermediate, ["db.acme.test", "localhost"], 400);
  const chain = leaf.cert + intermediate.cert;

  it("accepts a leaf from an intermediate when server.crt carries the intermediate and the CA is the root", () => {
    expect(pemCertificates(chain)).toHaveLength(2);
    expect(inspectCert(chain, leaf.key, root.cert)).toMatchObject({ matchesKey: true, signedBy: true });
    // Intermediates given after the root, or the root file holding the intermediate too: still a chain.
    expect(inspectCert(leaf.cert, leaf.key, root.cert + intermediate.cert)).toMatchObject({ signedBy: true });
  });

  it("refuses a chain that does not reach the CA: intermediate missing, foreign root, unrelated intermediate", () => {
    expect(inspectCert(leaf.cert, leaf.key, root.cert).signedBy).toBe(false);
    expect(inspectCert(chain, leaf.key, ownCa("Other Root").cert).signedBy).toBe(false);
    const stranger = ownCa("Stranger Issuing", ownCa("Stranger Root"));
    expect(inspectCert(leaf.cert + stranger.cert, leaf.key, root.cert).signedBy).toBe(false);
  });

  it("does not take a server certificate as an intermediate, nor loop", () => {
    const [l] = pemCertificates(leaf.cert);
    const fake = pemCertificates(ownServerCert(root, ["x"]).cert);
    expect(chainsTo(l, fake, pemCertificates(root.cert))).toBe(false);
    expect(chainsTo(l, [...pemCertificates(intermediate.cert), ...pemCertificates(intermediate.cert)], pemCertificates(root.cert))).toBe(true);
  });

  it("accepts a server certificate signed directly by the user's CA, without any CA key", () => {
    const direct = ownServerCert(root, ["primary", "localhost"]);
    expect(inspectCert(direct.cert, direct.key, root.cert)).toMatchObject({ matchesKey: true, signedBy: true });
  });

  it("finds the certificate of a chain that expires first", () => {
    const shortIntermediate = ownCa("Acme Issuing short", root, 20);
    const longLeaf = ownServerCert(shortIntermediate, ["db"], 300);
    const e = earliestExpiry(longLeaf.cert + shortIntermediate.cert);
    expect(e.subject).toContain("CN=Acme Issuing short");
    expect(Math.round((e.notAfter.getTime() - Date.now()) / 86_400_000)).toBe(20);
    expect(earliestExpiry(leaf.cert).serial).toBe(pemCertificates(leaf.cert)[0].serialNumber);
  });

  it("says so when a file holds no certificate", () => {
    expect(() => pemCertificates("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n")).toThrow(/no PEM certificate/);
  });
});
