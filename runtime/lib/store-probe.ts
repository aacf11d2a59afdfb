/**
 * The S3 store, checked for what pgBackRest relies on before it is trusted with a first backup
 * (and by `postgres-ba check`): a read right after a write returns what was written, a listing
 * names every object just written, and a ranged read returns exactly the bytes asked for.
 * pgBackRest reads bundled and block-incremental backups back with ranged reads, and S3-compatible
 * stores have shipped servers that answer a range with the wrong bytes (pgbackrest#2271; Ceph's
 * RGW with its dbstore backend does it here): the backups are reported successful and only the
 * restore fails. Two objects under <S3_PATH>/.postgres-ba-store-probe/, removed afterwards.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import aws4 from "aws4";
import { s3Endpoint, type BackupEnv } from "../env/parse.js";
import { explainS3Failure } from "./repository.js";
import { RepositoryError } from "../errors.js";

export interface StoreProbe {
  readAfterWrite: boolean;
  listing: boolean;
  /** A ranged read returned exactly the bytes asked for. */
  rangedRead: boolean;
  /** What a failed check saw, for the line that reports it. */
  details: string[];
}

/** The size of the probe object and the range read from it (the shape of the RGW defect: a range past the start). */
export const probeSize = 100_000;
export const probeRange = { first: 10, last: 19 };

/**
 * Why backups must not start on this store, as one line, or undefined when it serves what the
 * configuration needs. A wrong ranged read matters only to bundling and block incremental.
 */
export function storeRefusal(env: BackupEnv, probe: StoreProbe): string | undefined {
  const where = `the S3 store of s3://${env.S3_BUCKET}${env.S3_PATH}`;
  if (!probe.readAfterWrite || !probe.listing) {
    return `${where} does not behave as pgBackRest needs (${probe.details.join("; ")}), so its backups could not be restored; no backup was taken. Fix: use a store with read-after-write consistency and complete listings`;
  }
  if (!probe.rangedRead && (env.BACKUP_BUNDLE || env.BACKUP_BLOCK_INCREMENTAL)) {
    return `${where} answers ranged reads with the wrong bytes (${probe.details.join("; ")}); bundled and block-incremental backups are read back that way, so their restores would fail; no backup was taken. Fix: set BACKUP_BUNDLE=false and BACKUP_BLOCK_INCREMENTAL=false (whole-file reads), or use a store that serves ranges correctly`;
  }
  return undefined;
}

/** Writes, reads, lists and removes two probe objects. Throws RepositoryError when the store cannot be reached or refuses the keys. */
export async function probeStore(env: BackupEnv): Promise<StoreProbe> {
  const prefix = `${env.S3_PATH.replace(/^\/+|\/+$/g, "")}/.postgres-ba-store-probe/${randomBytes(6).toString("hex")}`;
  const keys = [`${prefix}/a`, `${prefix}/b`];
  const content = randomBytes(probeSize);
  const details: string[] = [];
  try {
    for (const key of keys) await s3(env, "PUT", key, { body: content });
    const whole = await s3(env, "GET", keys[0]);
    const readAfterWrite = whole.body.equals(content);
    if (!readAfterWrite) details.push(`a read right after a write returned ${whole.body.length} bytes that differ from the ${probeSize} written`);

    const ranged = await s3(env, "GET", keys[0], { headers: { Range: `bytes=${probeRange.first}-${probeRange.last}` } });
    const wanted = content.subarray(probeRange.first, probeRange.last + 1);
    const rangedRead = ranged.body.equals(wanted);
    if (!rangedRead) {
      const at = content.indexOf(ranged.body);
      const got = at >= 0 && ranged.body.length > 0 ? `bytes ${at}-${at + ranged.body.length - 1}` : `${ranged.body.length} other bytes`;
      details.push(`asked for bytes ${probeRange.first}-${probeRange.last} of a ${probeSize}-byte object, got ${got}`);
    }

    const listed = await s3(env, "GET", "", { query: `list-type=2&prefix=${encodeURIComponent(`${prefix}/`)}` });
    const names = [...listed.body.toString("utf8").matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
    const listing = keys.every((k) => names.includes(k));
    if (!listing) details.push(`a listing right after writing ${keys.length} objects named ${names.length}`);
    return { readAfterWrite, listing, rangedRead, details };
  } finally {
    for (const key of keys) await s3(env, "DELETE", key).catch(() => undefined);
  }
}

interface S3Answer {
  status: number;
  body: Buffer;
}

/** One signed request (SigV4, the same endpoint, style, CA and keys pgBackRest uses); a status >= 300 throws. */
async function s3(
  env: BackupEnv,
  method: string,
  key: string,
  options: { body?: Buffer; headers?: Record<string, string>; query?: string } = {},
): Promise<S3Answer> {
  const { host, port } = s3Endpoint(env);
  const pathStyle = env.S3_URI_STYLE === "path";
  const hostname = pathStyle ? host : `${env.S3_BUCKET}.${host}`;
  const objectPath = key ? `/${key.split("/").map(encodeURIComponent).join("/")}` : "/";
  const path = `${pathStyle ? `/${env.S3_BUCKET}${objectPath === "/" ? "" : objectPath}` : objectPath}${options.query ? `?${options.query}` : ""}`;
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
    throw new RepositoryError(explainS3Failure(env, `${method} for the store probe failed: ${e.message}`));
  });
  if (answer.status >= 300) {
    const code = answer.body.toString("utf8").match(/<Code>([^<]*)<\/Code>/)?.[1] ?? "";
    throw new RepositoryError(explainS3Failure(env, `${[answer.status, code].filter(Boolean).join(" ")} on ${method} for the store probe`));
  }
  return answer;
}
