/**
 * The S3 server run inside the S3 container where MinIO cannot be pulled: s3rver over HTTPS,
 * path-style buckets, with the access keys given in its environment (the built-in S3RVER key
 * is revoked, so wrong credentials are refused as on real S3).
 */
import { readFileSync } from "node:fs";
import S3rver from "s3rver";
// s3rver keeps its accounts in this module; it has no option for custom keys.
import Account from "s3rver/lib/models/account.js";

const { S3_ACCESS_KEY, S3_SECRET_KEY, S3_PORT = "9000", S3_DATA_DIR = "/tmp/s3", TLS_CERT, TLS_KEY } = process.env;
if (!S3_ACCESS_KEY || !S3_SECRET_KEY || !TLS_CERT || !TLS_KEY) {
  console.error("s3-server: S3_ACCESS_KEY, S3_SECRET_KEY, TLS_CERT and TLS_KEY are required");
  process.exit(64);
}
Account.DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
Account.DUMMY_ACCOUNT.createKeyPair(S3_ACCESS_KEY, S3_SECRET_KEY);

const server = new S3rver({
  address: "0.0.0.0",
  port: Number(S3_PORT),
  directory: S3_DATA_DIR,
  vhostBuckets: false,
  silent: true,
  key: readFileSync(TLS_KEY),
  cert: readFileSync(TLS_CERT),
});
await server.run();
console.log(`s3-server: listening on https://0.0.0.0:${S3_PORT}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void server.close().then(() => process.exit(0)));
