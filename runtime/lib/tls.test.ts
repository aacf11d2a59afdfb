import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateCa, generateServerCert, inspectCert } from "./tls.js";

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
