/**
 * What the repository holds, read with `pgbackrest info` (read-only: nothing in the bucket
 * changes), with S3 failures translated into their cause and fix.
 */
import {
  azureEndpoint,
  gcsEndpoint,
  pgbackrestOptions,
  repositories,
  repositoryName,
  repositoryPathVariable,
  repositoryWording,
  s3Endpoint,
  type BackupEnv,
  type Repository,
} from "../env/parse.js";
import { failureReason, pgbackrest } from "./pgbackrest.js";
import type { RepoBackup } from "./restore-plan.js";
import { EncryptionMismatchError, RepositoryError } from "../errors.js";

export interface StanzaState {
  /** pgBackRest's stanza status: 0 ok, 1 missing stanza path, 2 no valid backups, 3 missing stanza data, 99 other. */
  code: number;
  backups: RepoBackup[];
  systemIds: string[];
  /** Archived WAL per cluster: the newest segment name (its first 8 hex digits are the timeline). */
  archives: Array<{ systemId: string; max: string | null; id?: string; repo?: number }>;
  /** Each repository read, with pgBackRest's status code there; one that could not be read has the line that explains it. */
  repositories: Array<{ index: 1 | 2; code: number; error?: string; encryptionMismatch?: boolean }>;
}

/** A backup as `info` lists it, with the repository that holds it. */
export type StoredBackup = RepoBackup & { database?: { "repo-key"?: number } };

/** The backup `restore` picks without --set: the newest of the first repository that has one. */
export function latestBackup(backups: readonly StoredBackup[]): StoredBackup | undefined {
  const repoOf = (b: StoredBackup) => b.database?.["repo-key"] ?? 1;
  const first = Math.min(...backups.map(repoOf));
  return backups.filter((b) => repoOf(b) === first).at(-1);
}

/** The timeline a backup was taken on (0 when info does not say: every timeline counts as later). */
export function backupTimeline(backup: RepoBackup): number {
  return backup.archive?.start ? Number.parseInt(backup.archive.start.slice(0, 8), 16) : 0;
}

interface ReadOptions {
  ioTimeoutSeconds?: number;
  repoTargetTime?: string;
  /** Read only this repository (pgBackRest --repo); otherwise every one, and only when none can be read is that an error. */
  repo?: 1 | 2;
}

/**
 * ioTimeoutSeconds bounds each S3 request, for callers that must not wait long on an outage;
 * repoTargetTime reads a versioned bucket as it was then (a restore's RESTORE_REPO_TARGET_TIME).
 */
export async function readStanza(env: BackupEnv, { ioTimeoutSeconds, repoTargetTime, repo }: ReadOptions = {}): Promise<StanzaState> {
  // A name lookup that fails for the moment is repeated by pgbackrest() itself (retryingNameResolution).
  const read = repositories(env).filter((r) => repo === undefined || r.index === repo);
  const extra = [
    ...(ioTimeoutSeconds ? [`--io-timeout=${ioTimeoutSeconds}`] : []),
    ...(repoTargetTime ? [`--repo-target-time=${repoTargetTime}`] : []),
    ...(repo ? [`--repo=${repo}`] : []),
  ];
  // info makes several requests: the whole run may take a few of those timeouts.
  const result = await pgbackrest(env, ["info", "--output=json", ...extra], { timeoutMs: ioTimeoutSeconds ? ioTimeoutSeconds * 4500 : 120_000 });
  if (result.code !== 0) throw await repositoryFailure(env, read[0], failureReason(result));
  const [stanza] = parseInfoJson(result.stdout) as Array<{
    status: { code: number; message: string };
    backup?: StoredBackup[];
    db?: Array<{ id: number; "system-id": string; "repo-key"?: number }>;
    archive?: Array<{ id?: string; database: { id: number; "repo-key"?: number }; max: string | null }>;
    repo?: Array<{ key: number; status: { code: number; message: string } }>;
  }>;
  const statusOf = (r: Repository) => stanza.repo?.find((x) => x.key === r.index)?.status ?? stanza.status;
  // Each repository that could not be read, explained in its own variables' names.
  const failures = new Map<number, RepositoryError>();
  for (const r of read) if (statusOf(r).code === 99) failures.set(r.index, await repositoryFailure(env, r, statusOf(r).message));
  // pgBackRest's 99 for the stanza: no repository could be read.
  if (stanza.status.code === 99) {
    const all = [...failures.values()];
    throw all.find((f) => f instanceof EncryptionMismatchError) ?? (all.length === 1 ? all[0] : new RepositoryError(all.map((f) => f.message).join("; ")));
  }
  const db = stanza.db ?? [];
  const systemIdOf = (id: number, key = 1) => db.find((d) => d.id === id && (d["repo-key"] ?? 1) === key)?.["system-id"] ?? "";
  return {
    code: stanza.status.code,
    backups: stanza.backup ?? [],
    systemIds: [...new Set(db.map((d) => d["system-id"]))],
    archives: (stanza.archive ?? []).map((a) => ({
      systemId: systemIdOf(a.database.id, a.database["repo-key"]),
      max: a.max,
      id: a.id,
      repo: a.database["repo-key"] ?? 1,
    })),
    repositories: read.map((r) => {
      const failure = failures.get(r.index);
      return failure
        ? { index: r.index, code: 99, error: failure.message, encryptionMismatch: failure instanceof EncryptionMismatchError }
        : { index: r.index, code: statusOf(r).code };
    }),
  };
}

/**
 * The error for a repository pgBackRest could not read, as one line in its own variables' names.
 * pgBackRest says only "unable to load info file" (or "is or was the repo encrypted?") when the
 * passphrase and the repository do not match; the first bytes of backup.info tell which way
 * (encrypted files start with OpenSSL's "Salted__"), so the line can name the fix. `env` is the
 * container's (pgBackRest runs with every repository's keys); `repository` the one that failed.
 */
async function repositoryFailure(env: BackupEnv, repository: Repository, detail: string): Promise<RepositoryError> {
  // Only pgBackRest's words for content it could not decode: a timeout or an outage while reading
  // backup.info says something else, and must not read as a wrong passphrase.
  if (/CryptoError|FormatError|ChecksumError|is or was the repo encrypted/i.test(detail)) {
    const stored = await storedEncryption(env, repository.index).catch(() => undefined);
    const mismatch = stored && encryptionMismatch(repository.settings, stored, cipherPassVariable(repository));
    if (mismatch) return new EncryptionMismatchError(repositoryWording(repository, mismatch));
  }
  return new RepositoryError(repositoryWording(repository, explainRepositoryFailure(repository.settings, detail)));
}

/**
 * Whether the stanza's backup.info is encrypted, read as stored (`repo-get --raw`: no decryption)
 * through pgBackRest, so every repository type and credential type is read the same way; undefined
 * when it cannot be read at all.
 */
async function storedEncryption(env: BackupEnv, index: 1 | 2): Promise<"encrypted" | "plain" | "missing" | undefined> {
  const result = await pgbackrest(env, ["repo-get", `--repo=${index}`, "--raw", `backup/${env.PGBACKREST_STANZA}/backup.info`], { timeoutMs: 120_000 });
  if (result.code !== 0) return /FileMissingError|unable to open missing file/.test(failureReason(result)) ? "missing" : undefined;
  return result.stdout.startsWith("Salted__") ? "encrypted" : "plain";
}

/** The variable that holds the repository's passphrase here, if one does (named as the first repository's: see repositoryWording). */
function cipherPassVariable({ index, settings: env }: Repository): string | undefined {
  if (env.REPO_CIPHER_PASS !== undefined) return "REPO_CIPHER_PASS";
  return pgbackrestOptions(process.env).find((o) => o.option === `repo${index}-cipher-pass`)?.variable;
}

/** One line for a passphrase that does not fit the stanza's encryption, or undefined when it fits. */
export function encryptionMismatch(env: BackupEnv, stored: "encrypted" | "plain" | "missing", passVariable: string | undefined): string | undefined {
  const stanza = `stanza ${env.PGBACKREST_STANZA} in ${repositoryName(env)}`;
  if (stored === "encrypted" && !passVariable)
    return `${stanza} is encrypted, but no passphrase is set. Fix: set REPO_CIPHER_PASS (or REPO_CIPHER_PASS_FILE) to the passphrase it was created with`;
  if (stored === "plain" && passVariable)
    return `${stanza} was created without encryption, and pgBackRest cannot encrypt an existing stanza. Fix: unset ${passVariable} for this stanza, or give an encrypted repository its own ${repositoryPathVariable(env)} or PGBACKREST_STANZA`;
  if (stored === "encrypted" && passVariable)
    return `${passVariable} does not decrypt ${stanza}: it is not the passphrase the stanza was created with. Fix: set ${passVariable} to that passphrase`;
  return undefined;
}

/** The newest timeline with archived WAL for this system id. */
export function newestArchivedTimeline(archives: StanzaState["archives"], systemId: string): number | undefined {
  const timelines = archives.filter((a) => a.systemId === systemId && a.max).map((a) => parseInt(a.max!.slice(0, 8), 16));
  return timelines.length ? Math.max(...timelines) : undefined;
}

/** pgBackRest's words for a store it cannot reach, and Node's (the store probe's). */
const unreachable =
  /HostConnectError|unable to (connect|get address)|connection refused|timed? ?out|getaddrinfo|Name or service not known|ECONNREFUSED|EHOSTUNREACH|ECONNRESET/i;

/** Turns pgBackRest's repository errors (S3, Azure, GCS, a directory) into one line naming the cause and the variables to check. */
export function explainRepositoryFailure(env: BackupEnv, fullDetail: string): string {
  // pgBackRest follows the cause with a dump of the HTTP request: the first line is the cause;
  // the store's own error code (S3's SignatureDoesNotMatch: the secret; Azure's ContainerNotFound) is in the dump.
  const cause = fullDetail.trim().split("\n")[0].replace(/:$/, "");
  if (env.REPO_TYPE === "posix") {
    return `the repository ${repositoryName(env)} cannot be used (${cause}). Fix: check that REPO_PATH is mounted and writable by postgres`;
  }
  const code = fullDetail.match(/<Code>([^<]+)<\/Code>/)?.[1];
  const detail = code && !cause.includes(code) ? `${cause}: ${code}` : cause;
  const store = storeWording(env);
  const where = `${repositoryName(env)} at ${store.host}`;
  if (store.refused.test(detail)) return `${store.name} refused the credentials for ${where} (${detail}). Fix: ${store.credentialsFix}`;
  if (store.missing.test(detail)) return `the ${store.holder} of ${where} does not exist (${detail}). Fix: ${store.missingFix}`;
  if (store.tlsFix && /certificate|verify|TLS|SSL/i.test(detail)) return `TLS to ${where} failed (${detail}). Fix: ${store.tlsFix}`;
  if (unreachable.test(detail))
    return `cannot reach the ${store.name} endpoint of ${where} (${detail}). Fix: ${store.unreachableFix}, and that the container can reach it`;
  return `the repository ${where} cannot be read (${detail})`;
}

/** How one object store's failures read: its name, the host:port pgBackRest talks to, its answers, and the variables each fix names. */
interface StoreWording {
  name: string;
  host: string;
  /** What holds the repository: a bucket or a blob container. */
  holder: string;
  refused: RegExp;
  credentialsFix: string;
  missing: RegExp;
  missingFix: string;
  /** Undefined where no variable names a CA (GCS). */
  tlsFix?: string;
  unreachableFix: string;
}

function storeWording(env: BackupEnv): StoreWording {
  switch (env.REPO_TYPE) {
    case "azure": {
      const { host, port } = azureEndpoint(env);
      return {
        name: "Azure",
        // Host style puts the account in front of the endpoint: that is the name pgBackRest resolves.
        host: `${env.AZURE_URI_STYLE === "host" ? `${env.AZURE_ACCOUNT}.` : ""}${host}:${port}`,
        holder: "container",
        refused: /\b403\b|AuthenticationFailed|AuthorizationFailure|AuthorizationPermissionMismatch|InvalidAuthenticationInfo/i,
        credentialsFix:
          env.AZURE_KEY_TYPE === "auto"
            ? "check that the managed identity may read and write the container"
            : `check AZURE_ACCOUNT and AZURE_KEY (a ${env.AZURE_KEY_TYPE === "sas" ? "SAS token" : "shared account key"}, as AZURE_KEY_TYPE says)`,
        missing: /ContainerNotFound|\b404\b/,
        missingFix: "create the container, or check AZURE_CONTAINER and AZURE_ENDPOINT",
        tlsFix: "set AZURE_CA_FILE to the CA that signed the endpoint's certificate",
        unreachableFix: "check AZURE_ACCOUNT and AZURE_ENDPOINT",
      };
    }
    case "gcs": {
      const { host, port } = gcsEndpoint(env);
      return {
        name: "GCS",
        host: `${host}:${port}`,
        holder: "bucket",
        refused: /\b40[13]\b/,
        credentialsFix:
          env.GCS_KEY_TYPE === "auto"
            ? "check that the VM's service account may read and write the bucket"
            : `check GCS_KEY (a ${env.GCS_KEY_TYPE === "token" ? "current access token" : "service account key"}, as GCS_KEY_TYPE says) and that its account may read and write the bucket`,
        missing: /\b404\b/,
        missingFix: "check GCS_BUCKET and GCS_ENDPOINT",
        unreachableFix: "check GCS_ENDPOINT",
      };
    }
    // S3 (a directory's failures are explained before any store is asked for).
    default: {
      const { host, port } = s3Endpoint(env);
      return {
        name: "S3",
        host: `${host}:${port}`,
        holder: "bucket",
        refused: /\b403\b|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch/i,
        credentialsFix:
          env.S3_KEY_TYPE === "shared"
            ? "check S3_ACCESS_KEY and S3_SECRET_KEY"
            : `check that the role S3_KEY_TYPE=${env.S3_KEY_TYPE} uses may read and write the bucket`,
        missing: /NoSuchBucket|\b404\b/,
        missingFix: "check S3_BUCKET and S3_ENDPOINT",
        tlsFix: "set S3_CA_FILE to the CA that signed the S3 server's certificate",
        unreachableFix: "check S3_ENDPOINT and S3_PORT",
      };
    }
  }
}

/**
 * `pgbackrest info --output=json`, with system ids kept exact: they are 64-bit integers, which
 * JSON.parse would round (7711948422081253392 becomes 7711948422081253000). JSON starts at the
 * first "[", after any warning pgBackRest printed.
 */
export function parseInfoJson(stdout: string): unknown {
  const json = escapeControlCharacters(stdout.slice(stdout.indexOf("[")));
  return JSON.parse(json.replace(/"system-id":\s*(\d+)/g, '"system-id":"$1"'));
}

/**
 * pgBackRest puts a repository's error message into info's JSON as it is, newlines included,
 * which JSON forbids inside a string: they are escaped there (and only there).
 */
function escapeControlCharacters(json: string): string {
  let inString = false;
  let escaped = false;
  let out = "";
  for (const c of json) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
      else if (c < " ") {
        out += `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
        continue;
      }
    } else if (c === '"') inString = true;
    out += c;
  }
  return out;
}
