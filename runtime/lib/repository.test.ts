import { describe, expect, it } from "vitest";
import { parseEnv, type BackupEnv } from "../env/parse.js";
import { encryptionMismatch, explainRepositoryFailure, parseInfoJson } from "./repository.js";

const env = parseEnv({ PGBACKREST_STANZA: "main", S3_BUCKET: "backups", S3_ACCESS_KEY: "k", S3_SECRET_KEY: "s", S3_ENDPOINT: "minio:9000" }) as BackupEnv;

describe("parseInfoJson", () => {
  it("keeps 64-bit system ids exact and skips a warning printed before the JSON", () => {
    const parsed = parseInfoJson('P00   WARN: something\n[{"name":"main","db":[{"id":1,"system-id":7711948422081253392,"version":"18"}]}]') as Array<{
      db: Array<{ "system-id": string }>;
    }>;
    expect(parsed[0].db[0]["system-id"]).toBe("7711948422081253392");
  });

  it("reads an error message that pgBackRest left with raw newlines, and leaves escapes as they are", () => {
    const stdout =
      '[{"name":"main","status":{"code":99,"message":"other"},"repo":[{"status":{"code":99,"message":"[CryptoError] bad\ndecrypt \\"x\\" \\\\"}}]}]';
    const parsed = parseInfoJson(stdout) as Array<{ repo: Array<{ status: { message: string } }> }>;
    expect(parsed[0].repo[0].status.message).toBe('[CryptoError] bad\ndecrypt "x" \\');
  });
});

describe("explainRepositoryFailure", () => {
  it("names the cause, where, and the variables to fix, on one line", () => {
    expect(explainRepositoryFailure(env, "[ProtocolError] HTTP request failed with 403 (Forbidden):\n*** Path/Query ***:\nGET /backups")).toBe(
      "S3 refused the credentials for s3://backups/pgbackrest at minio:9000 ([ProtocolError] HTTP request failed with 403 (Forbidden)). Fix: check S3_ACCESS_KEY and S3_SECRET_KEY",
    );
    expect(explainRepositoryFailure(env, "[HostConnectError] unable to get address for 'minio': [-2] Name or service not known")).toMatch(
      /^cannot reach the S3 endpoint of .* Fix: check S3_ENDPOINT and S3_PORT/,
    );
    expect(explainRepositoryFailure(env, "[CryptoError] unable to verify certificate presented by 'minio:9000'")).toMatch(/Fix: set S3_CA_FILE/);
    expect(
      explainRepositoryFailure(
        env,
        '[ProtocolError] HTTP request failed with 403 (Forbidden):\n*** Path/Query ***:\nGET /backups\n*** Response Content ***:\n<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code></Error>',
      ),
    ).toBe(
      "S3 refused the credentials for s3://backups/pgbackrest at minio:9000 ([ProtocolError] HTTP request failed with 403 (Forbidden): SignatureDoesNotMatch). Fix: check S3_ACCESS_KEY and S3_SECRET_KEY",
    );
  });
});

describe("explainRepositoryFailure for Azure", () => {
  const azure = parseEnv({
    PGBACKREST_STANZA: "main",
    REPO_TYPE: "azure",
    AZURE_ACCOUNT: "devstoreaccount1",
    AZURE_CONTAINER: "pgbackups",
    AZURE_KEY: "a2V5",
    AZURE_ENDPOINT: "azurite:10000",
    AZURE_URI_STYLE: "path",
  }) as BackupEnv;

  it("names Azure's variables: the key for a refusal, the container for a 404, the endpoint for no answer", () => {
    expect(
      explainRepositoryFailure(
        azure,
        '[ProtocolError] HTTP request failed with 403 (Server failed to authenticate the request.):\n*** Response Content ***:\n<?xml version="1.0"?><Error><Code>AuthorizationFailure</Code></Error>',
      ),
    ).toBe(
      "Azure refused the credentials for azure://devstoreaccount1/pgbackups/pgbackrest at azurite:10000 ([ProtocolError] HTTP request failed with 403 (Server failed to authenticate the request.): AuthorizationFailure). Fix: check AZURE_ACCOUNT and AZURE_KEY (a shared account key, as AZURE_KEY_TYPE says)",
    );
    expect(explainRepositoryFailure(azure, "[ProtocolError] HTTP request failed with 404 (The specified container does not exist.)")).toMatch(
      /^the container of azure:\/\/devstoreaccount1\/pgbackups\/pgbackrest at azurite:10000 does not exist .*Fix: create the container, or check AZURE_CONTAINER and AZURE_ENDPOINT$/,
    );
    expect(explainRepositoryFailure(azure, "[HostConnectError] unable to get address for 'azurite': [-2] Name or service not known")).toMatch(
      /^cannot reach the Azure endpoint .*Fix: check AZURE_ACCOUNT and AZURE_ENDPOINT/,
    );
  });
});

describe("explainRepositoryFailure for Azure on Azure itself and for GCS", () => {
  it("names the account's host name that pgBackRest resolves (host style), and GCS's variables", () => {
    const azure = parseEnv({
      PGBACKREST_STANZA: "main",
      REPO_TYPE: "azure",
      AZURE_ACCOUNT: "prodbackups",
      AZURE_CONTAINER: "pgbackups",
      AZURE_KEY: "a2V5",
    }) as BackupEnv;
    expect(explainRepositoryFailure(azure, "[HostConnectError] unable to get address for 'prodbackups.blob.core.windows.net'")).toBe(
      "cannot reach the Azure endpoint of azure://prodbackups/pgbackups/pgbackrest at prodbackups.blob.core.windows.net:443 ([HostConnectError] unable to get address for 'prodbackups.blob.core.windows.net'). Fix: check AZURE_ACCOUNT and AZURE_ENDPOINT, and that the container can reach it",
    );
    const gcs = parseEnv({ PGBACKREST_STANZA: "main", REPO_TYPE: "gcs", GCS_BUCKET: "pg-backups", GCS_KEY: "{}" }) as BackupEnv;
    expect(explainRepositoryFailure(gcs, "[ProtocolError] HTTP request failed with 403 (Forbidden)")).toBe(
      "GCS refused the credentials for gs://pg-backups/pgbackrest at storage.googleapis.com:443 ([ProtocolError] HTTP request failed with 403 (Forbidden)). Fix: check GCS_KEY (a service account key, as GCS_KEY_TYPE says) and that its account may read and write the bucket",
    );
    expect(explainRepositoryFailure(gcs, "[ProtocolError] HTTP request failed with 404 (Not Found)")).toMatch(/Fix: check GCS_BUCKET and GCS_ENDPOINT$/);
  });
});

describe("encryptionMismatch", () => {
  it("names the fix for each way a passphrase can miss the stanza's encryption, and nothing when it fits", () => {
    expect(encryptionMismatch(env, "encrypted", undefined)).toBe(
      "stanza main in s3://backups/pgbackrest is encrypted, but no passphrase is set. Fix: set REPO_CIPHER_PASS (or REPO_CIPHER_PASS_FILE) to the passphrase it was created with",
    );
    expect(encryptionMismatch(env, "plain", "REPO_CIPHER_PASS")).toBe(
      "stanza main in s3://backups/pgbackrest was created without encryption, and pgBackRest cannot encrypt an existing stanza. Fix: unset REPO_CIPHER_PASS for this stanza, or give an encrypted repository its own S3_PATH or PGBACKREST_STANZA",
    );
    expect(encryptionMismatch(env, "encrypted", "PGBACKREST_REPO1_CIPHER_PASS")).toBe(
      "PGBACKREST_REPO1_CIPHER_PASS does not decrypt stanza main in s3://backups/pgbackrest: it is not the passphrase the stanza was created with. Fix: set PGBACKREST_REPO1_CIPHER_PASS to that passphrase",
    );
    expect(encryptionMismatch(env, "plain", undefined)).toBeUndefined();
    expect(encryptionMismatch(env, "missing", "REPO_CIPHER_PASS")).toBeUndefined();
  });
});
