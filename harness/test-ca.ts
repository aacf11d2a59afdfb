/**
 * A test certificate authority for servers the harness runs (the S3 server), made with the
 * runtime's own node-forge helpers. One per process: every bucket and container trusts it.
 */
import { generateCa, generateServerCert, type PemPair } from "../runtime/lib/tls.js";

let ca: PemPair | undefined;

export function testCa(): PemPair {
  ca ??= generateCa("postgres-pgbackrest test CA");
  return ca;
}

export function testServerCert(dnsNames: string[]): PemPair {
  return generateServerCert(testCa(), dnsNames, ["127.0.0.1"]);
}
