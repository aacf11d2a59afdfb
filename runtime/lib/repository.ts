/**
 * What the repository holds, read with `pgbackrest info` (read-only: nothing in the bucket
 * changes), with S3 failures translated into their cause and fix.
 */
import { s3Endpoint, type BackupEnv } from "../env/parse.js";
import { failureReason, pgbackrest } from "./pgbackrest.js";
import type { RepoBackup } from "./restore-plan.js";
import { sleep } from "./supervisor.js";
import { RepositoryError } from "../errors.js";

export interface StanzaState {
  /** pgBackRest's stanza status: 0 ok, 1 missing stanza path, 2 no valid backups, 3 missing stanza data, 99 other. */
  code: number;
  backups: RepoBackup[];
  systemIds: string[];
  /** Archived WAL per cluster: the newest segment name (its first 8 hex digits are the timeline). */
  archives: Array<{ systemId: string; max: string | null }>;
}

/** ioTimeoutSeconds bounds each S3 request, for callers that must not wait long on an outage. */
export async function readStanza(env: BackupEnv, options: { ioTimeoutSeconds?: number } = {}): Promise<StanzaState> {
  // The resolver's own "try again" (EAI_AGAIN: a busy or restarting DNS server) is worth two more
  // tries a second apart; an unknown host or a refused connection is an answer, not retried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await readStanzaOnce(env, options);
    } catch (e) {
      if (!(e instanceof RepositoryError) || attempt === 3 || !/Temporary failure in name resolution/.test(e.message)) throw e;
      await sleep(1000);
    }
  }
}

async function readStanzaOnce(env: BackupEnv, { ioTimeoutSeconds }: { ioTimeoutSeconds?: number }): Promise<StanzaState> {
  const ioTimeout = ioTimeoutSeconds ? [`--io-timeout=${ioTimeoutSeconds}`] : [];
  // info makes several requests: the whole run may take a few of those timeouts.
  const result = await pgbackrest(env, ["info", "--output=json", ...ioTimeout], { timeoutMs: ioTimeoutSeconds ? ioTimeoutSeconds * 4500 : 120_000 });
  if (result.code !== 0) throw new RepositoryError(explainS3Failure(env, failureReason(result)));
  const [stanza] = parseInfoJson(result.stdout) as Array<{
    status: { code: number; message: string };
    backup?: RepoBackup[];
    db?: Array<{ id: number; "system-id": string }>;
    archive?: Array<{ database: { id: number }; max: string | null }>;
    repo?: Array<{ status: { code: number; message: string } }>;
  }>;
  if (stanza.status.code === 99) {
    const detail = stanza.repo?.map((r) => r.status.message).join("; ") || stanza.status.message;
    throw new RepositoryError(explainS3Failure(env, detail));
  }
  const db = stanza.db ?? [];
  const systemIdOf = new Map(db.map((d) => [d.id, d["system-id"]]));
  return {
    code: stanza.status.code,
    backups: stanza.backup ?? [],
    systemIds: db.map((d) => d["system-id"]),
    archives: (stanza.archive ?? []).map((a) => ({ systemId: systemIdOf.get(a.database.id) ?? "", max: a.max })),
  };
}

/** The newest timeline with archived WAL for this system id. */
export function newestArchivedTimeline(archives: StanzaState["archives"], systemId: string): number | undefined {
  const timelines = archives.filter((a) => a.systemId === systemId && a.max).map((a) => parseInt(a.max!.slice(0, 8), 16));
  return timelines.length ? Math.max(...timelines) : undefined;
}

/** pgBackRest's words for a store it cannot reach, and Node's (the store probe's). */
const unreachable =
  /HostConnectError|unable to (connect|get address)|connection refused|timed? ?out|getaddrinfo|Name or service not known|ECONNREFUSED|EHOSTUNREACH|ECONNRESET/i;

/** Turns pgBackRest's S3 errors into one line naming the cause and the variables to check. */
export function explainS3Failure(env: BackupEnv, fullDetail: string): string {
  // pgBackRest follows the cause with a dump of the HTTP request: the first line is the cause;
  // S3's own error code (SignatureDoesNotMatch: the secret; InvalidAccessKeyId: the key id) is in the dump.
  const code = fullDetail.match(/<Code>([^<]+)<\/Code>/)?.[1];
  const cause = fullDetail.trim().split("\n")[0].replace(/:$/, "");
  const detail = code && !cause.includes(code) ? `${cause}: ${code}` : cause;
  const { host, port } = s3Endpoint(env);
  const where = `s3://${env.S3_BUCKET}${env.S3_PATH} at ${host}:${port}`;
  if (/\b403\b|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch/i.test(detail)) {
    return `S3 refused the credentials for ${where} (${detail}). Fix: check S3_ACCESS_KEY and S3_SECRET_KEY`;
  }
  if (/NoSuchBucket|\b404\b/.test(detail)) return `the bucket of ${where} does not exist (${detail}). Fix: check S3_BUCKET and S3_ENDPOINT`;
  if (/certificate|verify|TLS|SSL/i.test(detail))
    return `TLS to ${where} failed (${detail}). Fix: set S3_CA_FILE to the CA that signed the S3 server's certificate`;
  if (unreachable.test(detail)) {
    return `cannot reach the S3 endpoint of ${where} (${detail}). Fix: check S3_ENDPOINT and S3_PORT, and that the container can reach it`;
  }
  return `the repository ${where} cannot be read (${detail})`;
}

/**
 * `pgbackrest info --output=json`, with system ids kept exact: they are 64-bit integers, which
 * JSON.parse would round (7711948422081253392 becomes 7711948422081253000). JSON starts at the
 * first "[", after any warning pgBackRest printed.
 */
export function parseInfoJson(stdout: string): unknown {
  return JSON.parse(stdout.slice(stdout.indexOf("[")).replace(/"system-id":\s*(\d+)/g, '"system-id":"$1"'));
}
