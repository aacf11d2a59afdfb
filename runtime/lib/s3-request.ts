/**
 * One signed S3 request from the runtime itself (SigV4, with the endpoint, URI style, CA and keys
 * pgBackRest uses), for what pgBackRest has no command for: probing the store, reading the first
 * bytes of an info file. A status of 300 or more, or no answer, throws a RepositoryError that
 * names the cause and the variables to check.
 */
import { readFileSync } from "node:fs";
import { s3Bucket, s3Endpoint, type BackupEnv } from "../env/parse.js";
import { httpsModule } from "./builtin.js";
import { explainRepositoryFailure } from "./repository.js";
import { RepositoryError } from "../errors.js";

/** An object's key under the repository path (S3_PATH, which may be "/"). */
export function s3Key(env: BackupEnv, ...parts: string[]): string {
  return [env.S3_PATH.replace(/^\/+|\/+$/g, ""), ...parts].filter(Boolean).join("/");
}

export interface S3Answer {
  status: number;
  body: Buffer;
}

/** One signed request (SigV4, the same endpoint, style, CA and keys pgBackRest uses); a status >= 300 throws. */
export async function s3Request(
  env: BackupEnv,
  method: string,
  key: string,
  options: { body?: Buffer; headers?: Record<string, string>; query?: string; missingOk?: boolean } = {},
): Promise<S3Answer> {
  // Loaded on first use (see builtin.ts): a runtime that makes no S3 request never needs them.
  const { request } = httpsModule();
  const { default: aws4 } = await import("aws4");
  const { host, port } = s3Endpoint(env);
  const pathStyle = env.S3_URI_STYLE === "path";
  const bucket = s3Bucket(env);
  const hostname = pathStyle ? host : `${bucket}.${host}`;
  const objectPath = key ? `/${key.split("/").map(encodeURIComponent).join("/")}` : "/";
  const path = `${pathStyle ? `/${bucket}${objectPath === "/" ? "" : objectPath}` : objectPath}${options.query ? `?${options.query}` : ""}`;
  const signed = aws4.sign(
    {
      host: port === 443 ? hostname : `${hostname}:${port}`,
      path,
      method,
      service: "s3",
      region: env.S3_REGION,
      body: options.body,
      headers: { ...options.headers, ...(options.body ? { "Content-Type": "application/octet-stream" } : {}) },
    },
    { accessKeyId: env.S3_ACCESS_KEY, secretAccessKey: env.S3_SECRET_KEY },
  );
  const answer = await new Promise<S3Answer>((resolve, reject) => {
    const req = request(
      {
        hostname,
        port,
        path,
        method,
        headers: signed.headers,
        ca: env.S3_CA_FILE ? readFileSync(env.S3_CA_FILE) : undefined,
        rejectUnauthorized: env.S3_VERIFY_TLS,
        timeout: 30_000,
        // A connection per request: a store that answers a range wrongly may also leave bytes
        // on the connection that a reused socket would read as the next answer.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timed out after 30 s`)));
    req.on("error", reject);
    req.end(options.body);
  }).catch((e: Error) => {
    throw new RepositoryError(explainRepositoryFailure(env, `${method} failed: ${e.message}`));
  });
  if (answer.status === 404 && options.missingOk) return answer;
  if (answer.status >= 300) {
    const code = answer.body.toString("utf8").match(/<Code>([^<]*)<\/Code>/)?.[1] ?? "";
    // Classified on the status and S3's code only: a bucket or path may hold "404" or "ssl".
    throw new RepositoryError(explainRepositoryFailure(env, `${[answer.status, code].filter(Boolean).join(" ")} on ${method}`));
  }
  return answer;
}
