import { describe, expect, it } from "vitest";
import { parseEnv, type BackupEnv } from "../env/parse.js";
import { explainS3Failure, parseInfoJson } from "./repository.js";

const env = parseEnv({ PGBACKREST_STANZA: "main", S3_BUCKET: "backups", S3_ACCESS_KEY: "k", S3_SECRET_KEY: "s", S3_ENDPOINT: "minio:9000" }) as BackupEnv;

describe("parseInfoJson", () => {
  it("keeps 64-bit system ids exact and skips a warning printed before the JSON", () => {
    const parsed = parseInfoJson('P00   WARN: something\n[{"name":"main","db":[{"id":1,"system-id":7711948422081253392,"version":"18"}]}]') as Array<{
      db: Array<{ "system-id": string }>;
    }>;
    expect(parsed[0].db[0]["system-id"]).toBe("7711948422081253392");
  });
});

describe("explainS3Failure", () => {
  it("names the cause, where, and the variables to fix, on one line", () => {
    expect(explainS3Failure(env, "[ProtocolError] HTTP request failed with 403 (Forbidden):\n*** Path/Query ***:\nGET /backups")).toBe(
      "S3 refused the credentials for s3://backups/pgbackrest at minio:9000 ([ProtocolError] HTTP request failed with 403 (Forbidden)). Fix: check S3_ACCESS_KEY and S3_SECRET_KEY",
    );
    expect(explainS3Failure(env, "[HostConnectError] unable to get address for 'minio': [-2] Name or service not known")).toMatch(
      /^cannot reach the S3 endpoint of .* Fix: check S3_ENDPOINT and S3_PORT/,
    );
    expect(explainS3Failure(env, "[CryptoError] unable to verify certificate presented by 'minio:9000'")).toMatch(/Fix: set S3_CA_FILE/);
    expect(
      explainS3Failure(
        env,
        '[ProtocolError] HTTP request failed with 403 (Forbidden):\n*** Path/Query ***:\nGET /backups\n*** Response Content ***:\n<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code></Error>',
      ),
    ).toBe(
      "S3 refused the credentials for s3://backups/pgbackrest at minio:9000 ([ProtocolError] HTTP request failed with 403 (Forbidden): SignatureDoesNotMatch). Fix: check S3_ACCESS_KEY and S3_SECRET_KEY",
    );
  });
});
