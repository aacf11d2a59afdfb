/**
 * The S3 server run inside the S3 container where MinIO cannot be pulled: s3rver over HTTPS,
 * path-style buckets, with the access keys given in its environment (the built-in S3RVER key
 * is revoked, so wrong credentials are refused as on real S3).
 */
import { readFileSync } from "node:fs";
import S3rver from "s3rver";
// s3rver keeps its accounts in this module; it has no option for custom keys.
import Account from "s3rver/lib/models/account.js";
import FilesystemStore, { type ListOptions } from "s3rver/lib/stores/filesystem.js";

const { S3_PORT = "9000", S3_DATA_DIR = "/tmp/s3", S3_BUCKETS = "", TLS_CERT, TLS_KEY } = process.env;
/** A key from its variable, or from the file its _FILE variable names (compose secrets). */
const secret = (name: string): string | undefined => {
  const file = process.env[`${name}_FILE`];
  return file ? readFileSync(file, "utf8").trim() : process.env[name];
};
const S3_ACCESS_KEY = secret("S3_ACCESS_KEY");
const S3_SECRET_KEY = secret("S3_SECRET_KEY");
if (!S3_ACCESS_KEY || !S3_SECRET_KEY || !TLS_CERT || !TLS_KEY) {
  console.error("s3-server: S3_ACCESS_KEY (or _FILE), S3_SECRET_KEY (or _FILE), TLS_CERT and TLS_KEY are required");
  process.exit(64);
}
/**
 * s3rver lists with a delimiter by walking directories and skipping those below a common prefix
 * before it has seen their objects, so a "directory" that holds only deeper objects is never
 * reported (ENVIRONMENT.md's "one level" quirk). pgBackRest deletes an expired backup by listing
 * its path, and would leave most of it behind. Here: list recursively, then group by delimiter
 * as S3 does. maxKeys is not applied to delimited listings (test buckets are small).
 */
const listObjects = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function (this: unknown, bucket: string, options: ListOptions) {
  const { delimiter = "", prefix = "" } = options;
  if (!delimiter) return listObjects.call(this, bucket, options);
  const all = await listObjects.call(this, bucket, { ...options, delimiter: "", maxKeys: Infinity });
  const commonPrefixes = new Set<string>();
  const objects = all.objects.filter((o) => {
    const rest = o.key.slice(prefix.length);
    const at = rest.indexOf(delimiter);
    if (at >= 0) commonPrefixes.add(prefix + rest.slice(0, at + delimiter.length));
    return at < 0;
  });
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated: false };
};

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
  // Buckets that exist from the start (S3_BUCKETS=a,b), as a one-shot bucket job would make them.
  configureBuckets: S3_BUCKETS.split(",")
    .filter(Boolean)
    .map((name) => ({ name, configs: [] })),
});
await server.run();
console.log(`s3-server: listening on https://0.0.0.0:${S3_PORT}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void server.close().then(() => process.exit(0)));
