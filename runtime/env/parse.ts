/**
 * Turns the process environment into typed settings, or one ConfigError naming the variable,
 * the value and the fix. Pure apart from reading *_FILE secrets (injectable for tests).
 */
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { controlCharacter, type RawEnv } from "./raw.js";
import { isWithin, systemDirectories } from "./kinds.js";
import { pgbackrestPassthrough, type PassedOption } from "./pgbackrest-env.js";
import { describesRepository, envTable, secondRepositoryName, secondRepositoryWording, type Env, type EnvName, type EnvVar } from "./table.js";
import { ConfigError, KindError } from "../errors.js";

export type { RawEnv } from "./raw.js";
export type ReadFile = (path: string) => string;

const byName = new Map<string, EnvVar>(envTable.map((e) => [e.name, e as EnvVar]));

/** How a value is shown in an error: secrets only by length. */
function shown(spec: EnvVar, raw: string): string {
  return spec.secret ? `<secret, ${raw.length} characters>` : JSON.stringify(raw);
}

function defaultText(spec: EnvVar): string {
  if (spec.defaultDoc) return spec.defaultDoc;
  return typeof spec.default === "string" ? (spec.default === "" ? "empty" : spec.default) : "";
}

/** The raw value of a variable after *_FILE resolution; empty counts as unset, as in the official image. */
function readRaw(spec: EnvVar, source: RawEnv, readFile: ReadFile): string | undefined {
  const direct = source[spec.name] || undefined;
  if (!spec.fileForm) return direct;
  const fileVar = `${spec.name}_FILE`;
  const file = source[fileVar] || undefined;
  if (direct !== undefined && file !== undefined) {
    throw new ConfigError(
      `${spec.name}=${shown(spec, direct)} and ${fileVar}=${JSON.stringify(file)}`,
      "both are set, but they are exclusive",
      `set only one of them`,
    );
  }
  if (file === undefined) return direct;
  try {
    return readFile(file).replace(/\n+$/, "");
  } catch (e) {
    throw new ConfigError(
      `${fileVar}=${JSON.stringify(file)}`,
      `cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`,
      `mount the secret file at that path or correct ${fileVar}`,
    );
  }
}

/** Secret files read ahead by prereadSecretFiles, by path. */
const prereadFiles = new Map<string, string>();

/**
 * Reads every *_FILE the table allows now, while still root: a command run through `docker exec`
 * (as root) becomes postgres before it parses the environment, and compose mounts secret files
 * with the host's owner and mode, often readable by root only. Unreadable files are left for
 * parseEnv to report.
 */
export function prereadSecretFiles(source: RawEnv): void {
  const fileVariables = (envTable as readonly EnvVar[])
    .filter((spec) => spec.fileForm)
    .flatMap((spec) => [`${spec.name}_FILE`, ...(describesRepository(spec) ? [`${secondRepositoryName(spec.name)}_FILE`] : [])]);
  for (const variable of fileVariables) {
    const file = source[variable];
    if (!file) continue;
    try {
      prereadFiles.set(file, readFileSync(file, "utf8"));
    } catch {
      // parseEnv names the variable and the reason.
    }
  }
}

/** The `<NAME>_FILE` variables set in `source` whose files were read ahead, with their content. */
export function prereadSecretFileContents(source: RawEnv): Array<[variable: string, content: string]> {
  return Object.entries(source).flatMap(([variable, file]) => {
    const content = variable.endsWith("_FILE") && file ? prereadFiles.get(file) : undefined;
    return content === undefined ? [] : [[variable, content] as [string, string]];
  });
}

export function parseEnv(source: RawEnv, readFile: ReadFile = (p) => prereadFiles.get(p) ?? readFileSync(p, "utf8")): Env {
  const env = parseSettings(source, readFile);
  const second = parseSecondRepository(env, source, readFile);
  return second ? { ...env, secondRepository: second } : env;
}

/** The REPO2_* names the second repository reads, with their _FILE forms. */
const secondRepositoryVariables: ReadonlySet<string> = new Set(
  (envTable as readonly EnvVar[])
    .filter(describesRepository)
    .flatMap((spec) => [secondRepositoryName(spec.name), ...(spec.fileForm ? [`${secondRepositoryName(spec.name)}_FILE`] : [])]),
);

/**
 * The second repository (REPO2_TYPE), parsed by the same table and rules as the first from a view
 * of the environment where its REPO2_* values carry the first repository's names; errors name the
 * REPO2_* variables. A REPO2_* variable without REPO2_TYPE, or one no repository has, is refused.
 */
function parseSecondRepository(env: Env, source: RawEnv, readFile: ReadFile): Env | undefined {
  const given = Object.keys(source)
    .filter((k) => k.startsWith("REPO2_") && source[k])
    .sort();
  const unknown = given.find((k) => !secondRepositoryVariables.has(k));
  if (unknown) {
    // Shown like a secret when its name says it may be one (a misspelt key or passphrase).
    const value = source[unknown]!;
    throw new ConfigError(
      `${unknown}=${/PASS|KEY|SECRET|TOKEN/.test(unknown) ? `<secret, ${value.length} characters>` : JSON.stringify(value)}`,
      "is not a setting of a repository, so the second repository has none of that name",
      `give it the name of a repository variable with REPO2_ in front and REPO_ dropped (REPO2_PATH, REPO2_S3_BUCKET, REPO2_RETENTION_FULL, ...), or unset ${unknown}`,
    );
  }
  if (env.REPO2_TYPE === undefined) {
    if (given.length === 0) return undefined;
    throw new ConfigError(
      `${given[0]}`,
      "is set, but REPO2_TYPE is not, so there is no second repository to apply it to",
      `set REPO2_TYPE (s3, azure, gcs or posix) for a second repository, or unset ${given[0]}`,
    );
  }
  if (!env.PGBACKREST_STANZA) {
    throw new ConfigError(
      `REPO2_TYPE="${env.REPO2_TYPE}"`,
      "is set but PGBACKREST_STANZA is not, so no backup would ever be taken",
      "set PGBACKREST_STANZA (and both repositories' variables), or unset REPO2_TYPE for drop-in mode",
    );
  }
  let second: Env;
  try {
    second = parseSettings(secondRepositorySource(source), readFile, 2);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new ConfigError(secondRepositoryWording(e.variable), secondRepositoryWording(e.problem), secondRepositoryWording(e.fix));
  }
  const passedCipher = pgbackrestOptions(source).find((o) => o.option === "repo2-cipher-pass" || o.option === "repo2-cipher-type");
  if (second.REPO_CIPHER_PASS !== undefined && passedCipher) {
    throw new ConfigError(
      `REPO2_CIPHER_PASS=<secret, ${second.REPO_CIPHER_PASS.length} characters> and ${passedCipher.variable}`,
      "both set the second repository's encryption, but they are exclusive",
      "set only REPO2_CIPHER_PASS (it implies aes-256-cbc), or only the PGBACKREST_REPO2_CIPHER_* pair",
    );
  }
  if (samePlace(env, second)) {
    const variables = secondRepositoryWording(repositoryVariables(second));
    throw new ConfigError(
      `REPO2_TYPE="${env.REPO2_TYPE}"`,
      `places the second repository where the first one is (${repositoryName(second as BackupEnv)} and ${repositoryName(env as BackupEnv)}): the two would share one stanza, and one place is no second copy`,
      `give the second repository another place (${variables})`,
    );
  }
  if (env.RESTORE_REPO_TARGET_TIME !== undefined && env.RESTORE_REPO === undefined) {
    throw new ConfigError(
      "RESTORE_REPO_TARGET_TIME",
      "reads one versioned bucket as it was, but with two repositories (REPO2_TYPE) it would be applied to both",
      "set RESTORE_REPO to the repository with versioning (1 or 2)",
    );
  }
  return second;
}

/**
 * Whether two repositories are one place: the same store (endpoint), bucket or container and
 * path, or directories of which one holds the other (pgBackRest would share, and expire, one stanza).
 */
function samePlace(a: Env, b: Env): boolean {
  if (a.REPO_TYPE !== b.REPO_TYPE) return false;
  switch (a.REPO_TYPE) {
    case "posix":
      return a.REPO_PATH !== undefined && b.REPO_PATH !== undefined && (isWithin(a.REPO_PATH, b.REPO_PATH) || isWithin(b.REPO_PATH, a.REPO_PATH));
    case "s3":
      return sameStorePath(s3Endpoint(a), s3Endpoint(b), [a.S3_BUCKET, a.S3_PATH], [b.S3_BUCKET, b.S3_PATH]);
    case "azure":
      return sameStorePath(
        azureEndpoint(a),
        azureEndpoint(b),
        [a.AZURE_ACCOUNT, a.AZURE_CONTAINER, a.AZURE_PATH],
        [b.AZURE_ACCOUNT, b.AZURE_CONTAINER, b.AZURE_PATH],
      );
    case "gcs":
      return sameStorePath(gcsEndpoint(a), gcsEndpoint(b), [a.GCS_BUCKET, a.GCS_PATH], [b.GCS_BUCKET, b.GCS_PATH]);
  }
}

/** One endpoint, one holder, and paths of which one holds the other. */
function sameStorePath(
  endpointA: { host: string; port: number },
  endpointB: { host: string; port: number },
  [holderA, ...restA]: Array<string | undefined>,
  [holderB, ...restB]: Array<string | undefined>,
): boolean {
  if (endpointA.host.toLowerCase() !== endpointB.host.toLowerCase() || endpointA.port !== endpointB.port) return false;
  const [pathA, pathB] = [restA.pop() ?? "/", restB.pop() ?? "/"];
  return holderA === holderB && restA.join("/") === restB.join("/") && (isWithin(pathA, pathB) || isWithin(pathB, pathA));
}

/** The environment as the second repository reads it: its REPO2_* values under the first repository's names. */
function secondRepositorySource(source: RawEnv): RawEnv {
  const view: RawEnv = {};
  for (const [name, value] of Object.entries(source)) {
    // The passed pgBackRest options were checked with the first repository's settings.
    if (!name.startsWith("PGBACKREST_") || byName.has(name)) view[name] = value;
  }
  for (const spec of (envTable as readonly EnvVar[]).filter(describesRepository)) {
    for (const suffix of spec.fileForm ? ["", "_FILE"] : [""]) {
      view[spec.name + suffix] = source[secondRepositoryName(spec.name) + suffix];
    }
  }
  return view;
}

/**
 * A repository of the stanza: 1 is REPO_TYPE's, 2 is REPO2_TYPE's. `settings` reads it under the
 * first repository's names, for wording and rendering; pgBackRest itself always runs with the
 * container's settings (every repository's keys).
 */
export interface Repository {
  readonly index: 1 | 2;
  readonly settings: BackupEnv;
}

export function repositories(env: BackupEnv): Repository[] {
  const second = env.secondRepository;
  return [{ index: 1, settings: env }, ...(second ? [{ index: 2 as const, settings: second as BackupEnv }] : [])];
}

/** The directories of posix repositories (REPO_PATH, REPO2_PATH). */
export function repositoryDirectories(env: BackupEnv): string[] {
  return repositories(env).flatMap((r) => (r.settings.REPO_PATH === undefined ? [] : [r.settings.REPO_PATH]));
}

/** A line about a repository in its own variables' names (secondRepositoryWording for the second). */
export function repositoryWording(repository: Repository, text: string): string {
  return repository.index === 2 ? secondRepositoryWording(text) : text;
}

/** The table's values and rules; `repository` 2 reads the second repository's view (secondRepositorySource). */
function parseSettings(source: RawEnv, readFile: ReadFile, repository: 1 | 2 = 1): Env {
  const raws = new Map<string, string | undefined>();
  const values: Record<string, unknown> = {};
  for (const entry of envTable) {
    const spec = entry as EnvVar;
    let raw = readRaw(spec, source, readFile);
    if (raw === undefined && spec.default !== undefined) {
      // Defaults may read the table's variables already parsed, or the raw environment for
      // variables the table does not own (PGPORT, PostgreSQL's own, moves POSTGRES_PORT).
      raw = typeof spec.default === "function" ? spec.default((n) => (raws.has(n) ? raws.get(n) : source[n] || undefined)) : spec.default;
    }
    raws.set(spec.name, raw);
    if (raw === undefined) continue;
    const def = defaultText(spec);
    const unsetForDefault = def ? `, or unset it for the default (${def})` : "";
    // Any variable: a newline or another control character breaks the files and commands it
    // ends up in (and the one-line errors that quote it).
    const control = controlCharacter(raw, spec.multiline);
    if (control) {
      throw new ConfigError(
        `${spec.name}=${shown(spec, raw)}`,
        `contains ${control}`,
        `remove newlines, tabs and other control characters from ${spec.name}${spec.fileForm ? ` (or ${spec.name}_FILE's file)` : ""}${unsetForDefault}`,
      );
    }
    try {
      values[spec.name] = spec.kind.parse(raw);
    } catch (e) {
      if (!(e instanceof KindError)) throw e;
      throw new ConfigError(`${spec.name}=${shown(spec, raw)}`, e.reason ?? `expected ${e.message}`, `set ${spec.name} to ${e.message}${unsetForDefault}`);
    }
  }
  const env = values as Env;
  for (const rule of crossRules) rule(env, source, repository);
  const passed = pgbackrestOptions(source);
  if (passed.length && !env.PGBACKREST_STANZA) {
    const first = passed[0];
    throw new ConfigError(
      `${first.variable}=${first.secret ? `<secret, ${first.value.length} characters>` : JSON.stringify(first.value)}`,
      "is a pgBackRest option, but PGBACKREST_STANZA is not set, so pgBackRest never runs",
      `set PGBACKREST_STANZA (and the repository's variables) to enable backups, or unset ${first.variable}`,
    );
  }
  return env;
}

const imageVariables: ReadonlySet<string> = new Set(envTable.map((e) => e.name));

/**
 * The PGBACKREST_* variables that reach pgBackRest as options (pgbackrest-env.ts): parseEnv has
 * refused the container's environment if one of them cannot.
 */
export function pgbackrestOptions(source: RawEnv): PassedOption[] {
  return pgbackrestPassthrough(source, imageVariables);
}

const restoreTargets = ["RESTORE_TARGET_TIME", "RESTORE_TARGET_LSN", "RESTORE_TARGET_XID", "RESTORE_TARGET_NAME", "RESTORE_TARGET_IMMEDIATE"] as const;

/** The levels pgBackRest accepts for each compression type (none takes no level). */
const compressLevels: Record<string, [number, number] | undefined> = { zst: [0, 22], gz: [0, 9], lz4: [0, 12], bz2: [1, 9] };

/** What pgBackRest reads from the environment for S3_KEY_TYPE=web-id (AWS's own names). */
const webIdentityVariables = ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"] as const;

/** Key types whose "auto" takes the credentials from the platform, where a key would go unused. */
const keylessCredentials = [
  {
    keyType: "AZURE_KEY_TYPE",
    key: "AZURE_KEY",
    from: "the VM's managed identity (the instance metadata endpoint)",
    keyTypes: "shared (an account key) or sas (a SAS token)",
  },
  {
    keyType: "GCS_KEY_TYPE",
    key: "GCS_KEY",
    from: "the service account of the VM or pod (the metadata server)",
    keyTypes: "service (a service account key) or token (an access token)",
  },
] as const;

/** Settings that mean nothing without a repository, and what would happen to them. */
const needStanza = {
  BACKUP_WEBHOOK_URL: "no backup would ever be reported",
  BACKUP_PING_URL: "no backup would ever be reported",
  REPO_CIPHER_PASS: "there is no repository to encrypt",
} as const;

/** Directories that hold more than one program's files: PGDATA's parent under Patroni becomes postgres', so it must not be one. */
const sharedDirectories = ["/var", "/var/lib", "/tmp", "/home", "/root", "/opt", "/srv", "/mnt", "/media", "/run"];

/** Rules between variables; each throws a ConfigError when broken. */
const crossRules: Array<(env: Env, source: RawEnv, repository: 1 | 2) => void> = [
  // High availability first: under Patroni a replica's or a restore's rules below do not apply.
  (env, source) => {
    if (env.HA_MODE === "patroni") return;
    // Set by the user (not by a default): a high-availability setting without HA_MODE would do nothing.
    const stray = (envTable as readonly EnvVar[]).find((spec) => spec.group === "High availability" && spec.name !== "HA_MODE" && isSet(spec, source));
    if (stray) {
      throw new ConfigError(
        `${stray.name}${source[stray.name] ? `=${shown(stray, source[stray.name] as string)}` : "_FILE"}`,
        "is set, but HA_MODE is off, so no Patroni runs to use it",
        `set HA_MODE=patroni (with the image's ha target), or unset ${stray.name}`,
      );
    }
  },
  (env, source) => {
    if (env.HA_MODE !== "patroni") return;
    // A setting of the other store would do nothing: the user meant that store.
    const otherStore = (envTable as readonly EnvVar[]).find((spec) => spec.store && spec.store !== env.HA_STORE && isSet(spec, source));
    if (otherStore) {
      throw new ConfigError(
        `${otherStore.name}=${shown(otherStore, source[otherStore.name] as string)}`,
        `belongs to HA_STORE=${otherStore.store}, but HA_STORE is ${env.HA_STORE}${source.HA_STORE ? "" : " (its default)"}, so nothing would use it`,
        `set HA_STORE=${otherStore.store}, or unset ${otherStore.name}`,
      );
    }
    if (env.HA_STORE === "etcd3" && !env.HA_ETCD_HOSTS) {
      throw new ConfigError(
        "HA_ETCD_HOSTS",
        "is required because HA_MODE=patroni with HA_STORE=etcd3: Patroni elects the leader through etcd",
        "set HA_ETCD_HOSTS to the etcd members' host:port (e.g. HA_ETCD_HOSTS=etcd:2379; `postgres-ba etcd` runs one), HA_STORE=kubernetes in a Kubernetes pod, or unset HA_MODE",
      );
    }
    const badPort = env.HA_ETCD_HOSTS?.split(",").find((hostPort) => Number(hostPort.slice(hostPort.lastIndexOf(":") + 1)) > 65535);
    if (badPort) {
      throw new ConfigError(
        `HA_ETCD_HOSTS="${env.HA_ETCD_HOSTS}"`,
        `names ${badPort}, whose port is past 65535`,
        "give each etcd member's client port (2379 by default)",
      );
    }
    if (env.HA_STORE === "kubernetes" && !source.KUBERNETES_SERVICE_HOST) {
      throw new ConfigError(
        "HA_STORE=kubernetes",
        "needs a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set), whose service account Patroni signs in to the API with",
        "run the member in Kubernetes (deploy/kubernetes), or HA_STORE=etcd3 with HA_ETCD_HOSTS",
      );
    }
    if (env.HA_STORE === "kubernetes" && !/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/.test(env.HA_SCOPE)) {
      throw new ConfigError(
        `HA_SCOPE="${env.HA_SCOPE}"${source.HA_SCOPE ? "" : " (its default, from PGBACKREST_STANZA)"}`,
        "cannot name a cluster in the Kubernetes store: Patroni labels the cluster's objects with it and names its ConfigMaps after it (<scope>-config, <scope>-leader), which takes lower-case letters, digits, '-' and '.', at most 63, starting and ending with a letter or digit",
        "set HA_SCOPE to such a name (the stanza may keep its own)",
      );
    }
    if (!env.REPLICATION_PASSWORD) {
      throw new ConfigError(
        "REPLICATION_PASSWORD",
        `is required because HA_MODE=patroni: members clone from and stream from each other as ${env.REPLICATION_USER}`,
        "set REPLICATION_PASSWORD (or REPLICATION_PASSWORD_FILE) to the same value on every member",
      );
    }
    const refused = [
      [env.PG_MODE === "replica", "PG_MODE=replica", "Patroni decides which member is the primary", "unset PG_MODE"],
      [source.PRIMARY_HOST, `PRIMARY_HOST=${source.PRIMARY_HOST}`, "Patroni decides which member replicas follow", "unset PRIMARY_HOST"],
      [
        env.RESTORE_FROM_BACKUP && env.RESTORE_TARGET_ACTION !== "promote",
        `RESTORE_TARGET_ACTION=${env.RESTORE_TARGET_ACTION}`,
        "Patroni waits for the restored server to promote itself before the cluster exists",
        "unset RESTORE_TARGET_ACTION (promote)",
      ],
      [
        env.RESTORE_DELTA,
        "RESTORE_DELTA=true",
        "Patroni owns the members' data directories; a member with damaged data is rebuilt by emptying its volume (it restores the latest backup)",
        "unset RESTORE_DELTA",
      ],
      [
        env.BACKUP_FROM_STANDBY !== "off",
        `BACKUP_FROM_STANDBY=${env.BACKUP_FROM_STANDBY}`,
        "names one standby, while Patroni moves the roles",
        "unset BACKUP_FROM_STANDBY",
      ],
    ] as const;
    const clash = refused.find(([set]) => set);
    if (clash) throw new ConfigError(`${clash[1]} with HA_MODE=patroni`, `is refused: ${clash[2]}`, `${clash[3]}, or unset HA_MODE`);
    const parent = dirname(env.PGDATA);
    if (parent === "/" || sharedDirectories.includes(parent) || systemDirectories.some((d) => isWithin(parent, d))) {
      throw new ConfigError(
        `PGDATA=${JSON.stringify(env.PGDATA)} with HA_MODE=patroni`,
        `is directly in ${parent}, which Patroni would have to own (it renames and recreates the data directory there)`,
        "keep PGDATA in a directory of its own, such as the default /var/lib/postgresql/18/docker",
      );
    }
    if (env.HA_LOOP_WAIT + 2 * env.HA_RETRY_TIMEOUT > env.HA_TTL) {
      throw new ConfigError(
        `HA_LOOP_WAIT=${env.HA_LOOP_WAIT}, HA_RETRY_TIMEOUT=${env.HA_RETRY_TIMEOUT}, HA_TTL=${env.HA_TTL}`,
        "break Patroni's rule HA_LOOP_WAIT + 2 x HA_RETRY_TIMEOUT <= HA_TTL (a leader could lose its lock while still retrying)",
        `raise HA_TTL to at least ${env.HA_LOOP_WAIT + 2 * env.HA_RETRY_TIMEOUT}, or lower HA_LOOP_WAIT or HA_RETRY_TIMEOUT`,
      );
    }
    const portClash = (
      [
        ["POSTGRES_PORT", env.POSTGRES_PORT],
        ["METRICS_PORT", env.METRICS_PORT],
      ] as const
    ).find(([, port]) => port === env.HA_REST_PORT);
    if (portClash) {
      throw new ConfigError(
        `HA_REST_PORT="${env.HA_REST_PORT}"${source.HA_REST_PORT ? "" : " (its default)"}`,
        `is also ${portClash[0]}: Patroni's REST API and ${portClash[0] === "POSTGRES_PORT" ? "PostgreSQL" : "the metrics server"} cannot listen on one port`,
        "choose another HA_REST_PORT (default 8008)",
      );
    }
  },
  (env, source) => {
    // One repository: a variable that places another type's repository means the user wanted that one.
    const stray = (envTable as readonly EnvVar[]).find((spec) => spec.places && spec.repository !== env.REPO_TYPE && isSet(spec, source));
    if (stray) {
      const raw = source[stray.name] || undefined;
      const variable = raw === undefined ? `${stray.name}_FILE` : stray.name;
      throw new ConfigError(
        `${variable}=${raw === undefined ? JSON.stringify(source[variable]) : shown(stray, raw)}`,
        `is set, but REPO_TYPE is ${env.REPO_TYPE}: it belongs to a repository of REPO_TYPE=${stray.repository}`,
        `unset ${variable}, or set REPO_TYPE=${stray.repository} and unset the variables of the ${env.REPO_TYPE} repository`,
      );
    }
  },
  (env) => {
    for (const [name, consequence] of Object.entries(needStanza) as Array<[keyof typeof needStanza, string]>) {
      if (env[name] === undefined || env.PGBACKREST_STANZA) continue;
      throw new ConfigError(
        `${name}=<secret, ${env[name].length} characters>`,
        `is set, but PGBACKREST_STANZA is not, so ${consequence}`,
        `set PGBACKREST_STANZA (and the repository's variables) to enable backups, or unset ${name}`,
      );
    }
  },
  (env, source) => {
    if (env.REPO_CIPHER_PASS === undefined) return;
    const passed = pgbackrestOptions(source).find((o) => o.option === "repo1-cipher-pass" || o.option === "repo1-cipher-type");
    if (!passed) return;
    throw new ConfigError(
      `REPO_CIPHER_PASS=<secret, ${env.REPO_CIPHER_PASS.length} characters> and ${passed.variable}`,
      "both set the repository's encryption, but they are exclusive",
      `set only REPO_CIPHER_PASS (it implies aes-256-cbc), or only the PGBACKREST_REPO1_CIPHER_* pair`,
    );
  },
  (env) => {
    const level = env.PGBACKREST_COMPRESS_LEVEL;
    if (level === undefined) return;
    const range = compressLevels[env.PGBACKREST_COMPRESS_TYPE];
    if (range && level >= range[0] && level <= range[1]) return;
    throw new ConfigError(
      `PGBACKREST_COMPRESS_LEVEL="${level}"`,
      range ? `is outside ${env.PGBACKREST_COMPRESS_TYPE}'s levels (${range[0]}-${range[1]})` : "is set, but PGBACKREST_COMPRESS_TYPE=none compresses nothing",
      range
        ? `set PGBACKREST_COMPRESS_LEVEL to ${range[0]}-${range[1]}, or unset it for the default`
        : "unset PGBACKREST_COMPRESS_LEVEL, or choose a PGBACKREST_COMPRESS_TYPE",
    );
  },
  (env) => {
    if (env.PG_MODE === "replica" && env.RESTORE_FROM_BACKUP) {
      throw new ConfigError(
        "RESTORE_FROM_BACKUP=true with PG_MODE=replica",
        "a container either restores a primary from S3 or clones a replica, not both",
        "unset RESTORE_FROM_BACKUP for a replica, or set PG_MODE=primary to restore",
      );
    }
  },
  (env) => {
    if (env.PG_MODE !== "replica") return;
    if (!env.PRIMARY_HOST) {
      throw new ConfigError(
        "PRIMARY_HOST",
        "is required because PG_MODE=replica: a replica needs a primary to clone and stream from",
        "set PRIMARY_HOST to the primary's host name (e.g. PRIMARY_HOST=db-primary), or set PG_MODE=primary",
      );
    }
    if (!env.REPLICATION_PASSWORD) {
      throw new ConfigError(
        "REPLICATION_PASSWORD",
        `is required because PG_MODE=replica: the replica connects to ${env.PRIMARY_HOST} as ${env.REPLICATION_USER}`,
        "set REPLICATION_PASSWORD (or REPLICATION_PASSWORD_FILE) to the value the primary was started with",
      );
    }
    if (env.REPLICA_BOOTSTRAP === "backup" && !env.PGBACKREST_STANZA) {
      throw new ConfigError(
        "REPLICA_BOOTSTRAP=backup",
        "restores from the primary's repository, but PGBACKREST_STANZA is not set",
        "set PGBACKREST_STANZA and the repository's variables of the primary, or use REPLICA_BOOTSTRAP=basebackup",
      );
    }
  },
  (env, source) => {
    if ((env.REPLICATION_PASSWORD || source.REPLICATION_USER) && env.REPLICATION_USER === env.POSTGRES_USER) {
      throw new ConfigError(
        `REPLICATION_USER=${JSON.stringify(env.REPLICATION_USER)}`,
        "is the superuser; replication uses a role of its own that is not a superuser",
        "choose another name (default replicator)",
      );
    }
  },
  (env) => {
    if (env.REPLICATION_PASSWORD && env.MAX_WAL_SENDERS < 2) {
      throw new ConfigError(
        `MAX_WAL_SENDERS="${env.MAX_WAL_SENDERS}"`,
        "is too few for replication: cloning a replica uses two WAL senders (pg_basebackup's copy and its WAL stream)",
        "set MAX_WAL_SENDERS to at least 2 (one more per replica beyond the first), or unset it for the default (10)",
      );
    }
  },
  (env, source) => {
    if (env.BACKUP_FROM_STANDBY === "off") {
      if (env.BACKUP_STANDBY_HOST)
        throw new ConfigError(
          `BACKUP_STANDBY_HOST=${JSON.stringify(env.BACKUP_STANDBY_HOST)}`,
          "is set, but BACKUP_FROM_STANDBY is off",
          "set BACKUP_FROM_STANDBY=prefer or require, or unset BACKUP_STANDBY_HOST",
        );
      return;
    }
    if (!env.PGBACKREST_STANZA) {
      throw new ConfigError(
        `BACKUP_FROM_STANDBY="${env.BACKUP_FROM_STANDBY}"`,
        "is set, but PGBACKREST_STANZA is not, so there are no backups to take from a standby",
        "set PGBACKREST_STANZA and the repository's variables, or unset BACKUP_FROM_STANDBY",
      );
    }
    if (env.PG_MODE === "primary" && env.BACKUP_STANDBY_HOST?.toLowerCase() === env.SERVER_NAME.toLowerCase()) {
      throw new ConfigError(
        `BACKUP_STANDBY_HOST=${JSON.stringify(env.BACKUP_STANDBY_HOST)}`,
        "is this primary's own SERVER_NAME: the standby to copy from must be another member",
        "set BACKUP_STANDBY_HOST to a replica's host name",
      );
    }
    if (env.PG_MODE === "primary" && !env.BACKUP_STANDBY_HOST) {
      throw new ConfigError(
        "BACKUP_STANDBY_HOST",
        `is required because BACKUP_FROM_STANDBY=${env.BACKUP_FROM_STANDBY} on a primary: it names the replica to copy from`,
        "set BACKUP_STANDBY_HOST to the replica's host name (its SERVER_NAME), or unset BACKUP_FROM_STANDBY",
      );
    }
    const clash = [
      ["POSTGRES_PORT", env.POSTGRES_PORT],
      ["METRICS_PORT", env.METRICS_PORT],
    ].find(([, port]) => port === env.BACKUP_STANDBY_PORT);
    if (clash) {
      throw new ConfigError(
        `BACKUP_STANDBY_PORT="${env.BACKUP_STANDBY_PORT}"${source.BACKUP_STANDBY_PORT ? "" : " (its default)"}`,
        `is also ${clash[0]}: pgBackRest's TLS server and ${clash[0] === "POSTGRES_PORT" ? "PostgreSQL" : "the metrics server"} cannot listen on one port`,
        "choose another BACKUP_STANDBY_PORT (default 8432)",
      );
    }
  },
  (env) => {
    if (env.METRICS_PORT !== undefined && env.METRICS_PORT === env.POSTGRES_PORT) {
      throw new ConfigError(
        `METRICS_PORT="${env.METRICS_PORT}"`,
        `is also POSTGRES_PORT: PostgreSQL and the metrics server cannot listen on one port`,
        "choose another METRICS_PORT (e.g. 9187), or unset it to turn metrics off",
      );
    }
  },
  (env, source) => {
    // Directories the image writes must not be PGDATA or inside it: initdb wants an empty
    // PGDATA, pg_basebackup, pg_rewind and restores replace its contents.
    for (const name of ["POSTGRES_INITDB_WALDIR", "CA_DIR", "SSL_CERT_DIR"] as const) {
      const dir = env[name];
      if (dir === undefined || !isWithin(dir, env.PGDATA)) continue;
      const set = source[name] ? "" : " (its default)";
      throw new ConfigError(
        `${name}=${JSON.stringify(dir)}${set}`,
        `is ${isWithin(env.PGDATA, dir) ? "PGDATA itself" : "inside PGDATA"} (${JSON.stringify(env.PGDATA)}), whose contents initdb, clones and restores replace`,
        source[name]
          ? `set ${name} to a directory outside PGDATA`
          : `set PGDATA to a directory that does not contain ${dir} (default /var/lib/postgresql/18/docker)`,
      );
    }
  },
  (env) => {
    if (env.RESTORE_FROM_BACKUP && !env.PGBACKREST_STANZA) {
      throw new ConfigError(
        "RESTORE_FROM_BACKUP=true",
        "restoring needs a repository, but PGBACKREST_STANZA is not set",
        "set PGBACKREST_STANZA and the repository's variables of the backup to restore",
      );
    }
  },
  (env) => {
    const targets = restoreTargets.filter((name) => env[name] !== undefined && env[name] !== false);
    if (targets.length > 1) {
      throw new ConfigError(targets.join(" and "), "only one recovery target can be set", `keep one of ${targets.join(", ")}`);
    }
    const restoreOnly = ["RESTORE_DELTA", "RESTORE_SET", "RESTORE_REPO", "RESTORE_REPO_TARGET_TIME", ...restoreTargets] as const;
    const stray = restoreOnly.find((name) => env[name] !== undefined && env[name] !== false);
    if (stray && !env.RESTORE_FROM_BACKUP) {
      throw new ConfigError(stray, "only applies to a restore, but RESTORE_FROM_BACKUP is not true", `set RESTORE_FROM_BACKUP=true, or unset ${stray}`);
    }
  },
  (env) => {
    if (env.RESTORE_REPO === 2 && env.REPO2_TYPE === undefined) {
      throw new ConfigError(
        'RESTORE_REPO="2"',
        "names the second repository, but REPO2_TYPE is not set, so there is none",
        "set REPO2_TYPE and the second repository's REPO2_* variables, or unset RESTORE_REPO",
      );
    }
  },
  (env, _, repository) => {
    if (env.PGBACKREST_STANZA) {
      for (const name of requiredRepositoryVariables(env)) {
        if (env[name] === undefined) {
          const spec = byName.get(name)!;
          const set = `set ${name}${spec.fileForm ? ` (or ${name}_FILE)` : ""}`;
          throw new ConfigError(
            name,
            repository === 2
              ? `is required for the second repository (REPO_TYPE=${env.REPO_TYPE})`
              : `is required because PGBACKREST_STANZA=${JSON.stringify(env.PGBACKREST_STANZA)} enables backups${env.REPO_TYPE === "s3" ? "" : ` with REPO_TYPE=${env.REPO_TYPE}`}`,
            repository === 2 ? `${set}, or unset REPO_TYPE for one repository` : `${set}, or unset PGBACKREST_STANZA for drop-in mode without backups`,
          );
        }
      }
    }
  },
  (env) => {
    if (env.REPO_PATH !== undefined && (isWithin(env.REPO_PATH, env.PGDATA) || isWithin(env.PGDATA, env.REPO_PATH))) {
      throw new ConfigError(
        `REPO_PATH=${JSON.stringify(env.REPO_PATH)}`,
        `overlaps PGDATA (${env.PGDATA}): backups would live and die with the data they protect, and restores would write over them`,
        "mount the repository somewhere else, on another disk (e.g. /var/lib/pgbackrest-repo)",
      );
    }
  },
  (env, source) => {
    if (env.REPO_TYPE !== "s3" || env.S3_KEY_TYPE === "shared") return;
    const key = (["S3_ACCESS_KEY", "S3_SECRET_KEY"] as const).find((name) => env[name] !== undefined);
    if (key) {
      throw new ConfigError(
        `S3_KEY_TYPE="${env.S3_KEY_TYPE}" and ${key}`,
        `both are set, but ${env.S3_KEY_TYPE} credentials come from ${env.S3_KEY_TYPE === "auto" ? "the instance's role" : "a web identity token"}, not static keys`,
        "unset S3_ACCESS_KEY and S3_SECRET_KEY, or set S3_KEY_TYPE=shared",
      );
    }
    const missing = env.S3_KEY_TYPE === "web-id" ? webIdentityVariables.find((name) => !source[name]) : undefined;
    if (missing) {
      throw new ConfigError(
        'S3_KEY_TYPE="web-id"',
        `needs ${missing}, which is not set (EKS sets AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE for a service account with an IAM role)`,
        `set ${webIdentityVariables.join(" and ")}, or use S3_KEY_TYPE=shared with keys`,
      );
    }
  },
  (env) => {
    // pgBackRest decodes a shared key as base64 and would fail on it only at the first request.
    if (env.REPO_TYPE === "azure" && env.AZURE_KEY_TYPE === "shared" && env.AZURE_KEY !== undefined && !/^[A-Za-z0-9+/]+={0,2}$/.test(env.AZURE_KEY)) {
      throw new ConfigError(
        `AZURE_KEY=${shown(byName.get("AZURE_KEY")!, env.AZURE_KEY)}`,
        "is not base64, and a shared account key is (as the portal's Access keys show it)",
        "set AZURE_KEY to the account key as shown, or AZURE_KEY_TYPE=sas for a SAS token",
      );
    }
  },
  (env) => {
    // A token goes into pgBackRest's environment and an HTTP header as it is: one line.
    if (env.GCS_KEY_TYPE === "token" && env.GCS_KEY !== undefined && /[\n\t]/.test(env.GCS_KEY)) {
      throw new ConfigError(
        `GCS_KEY=${shown(byName.get("GCS_KEY")!, env.GCS_KEY)}`,
        "contains a newline or a tab, which an access token (GCS_KEY_TYPE=token) cannot",
        "set GCS_KEY to the token alone, or GCS_KEY_TYPE=service for a service account's JSON key",
      );
    }
  },
  (env) => {
    const keyed = keylessCredentials.find(({ keyType, key }) => env[keyType] === "auto" && env[key] !== undefined);
    if (keyed) {
      throw new ConfigError(
        `${keyed.keyType}="auto" and ${keyed.key}`,
        `both are set, but auto credentials come from ${keyed.from}, not a key`,
        `unset ${keyed.key}, or set ${keyed.keyType}=${keyed.keyTypes}`,
      );
    }
  },
  (env) => {
    const placed = (["S3_BUCKET", "AZURE_CONTAINER", "GCS_BUCKET"] as const).find((name) => env[name] !== undefined);
    if (!env.PGBACKREST_STANZA && placed) {
      throw new ConfigError(
        `${placed}=${JSON.stringify(env[placed])}`,
        "is set but PGBACKREST_STANZA is not, so no backup would ever be taken",
        `set PGBACKREST_STANZA (e.g. PGBACKREST_STANZA=main), or unset ${placed} for drop-in mode`,
      );
    }
  },
];

/**
 * Settings of another REPO_TYPE's repository that are set but unused (an endpoint, a region, a
 * path left over from before a switch): reported at start, not refused.
 */
export function unusedRepositoryVariables(env: Env, source: RawEnv): string[] {
  const unused = (repository: Env, view: RawEnv) =>
    (envTable as readonly EnvVar[]).filter((spec) => spec.repository && spec.repository !== repository.REPO_TYPE && isSet(spec, view)).map((spec) => spec.name);
  const second = env.secondRepository ? unused(env.secondRepository, secondRepositorySource(source)).map(secondRepositoryName) : [];
  return [...unused(env, source), ...second];
}

/** Set by the user (directly or through its _FILE form), not by a default. */
function isSet(spec: EnvVar, source: RawEnv): boolean {
  return Boolean(source[spec.name] || (spec.fileForm && source[`${spec.name}_FILE`]));
}

/** What a repository of this type cannot do without, with backups on. */
function requiredRepositoryVariables(env: Env): EnvName[] {
  switch (env.REPO_TYPE) {
    case "s3":
      return ["S3_BUCKET", ...(env.S3_KEY_TYPE === "shared" ? (["S3_ACCESS_KEY", "S3_SECRET_KEY"] as const) : [])];
    case "azure":
      return ["AZURE_ACCOUNT", "AZURE_CONTAINER", ...(env.AZURE_KEY_TYPE === "auto" ? [] : (["AZURE_KEY"] as const))];
    case "gcs":
      return ["GCS_BUCKET", ...(env.GCS_KEY_TYPE === "auto" ? [] : (["GCS_KEY"] as const))];
    case "posix":
      return ["REPO_PATH"];
  }
}

/** The repository, as log lines name it: s3://bucket/path, azure://account/container/path, gs://bucket/path, or the directory of a posix repository. */
export function repositoryName(env: BackupEnv): string {
  switch (env.REPO_TYPE) {
    case "s3":
      return `s3://${env.S3_BUCKET}${env.S3_PATH}`;
    case "azure":
      return `azure://${env.AZURE_ACCOUNT}/${env.AZURE_CONTAINER}${env.AZURE_PATH}`;
    case "gcs":
      return `gs://${env.GCS_BUCKET}${env.GCS_PATH}`;
    case "posix":
      return `${env.REPO_PATH}`;
  }
}

/** The variables that place the repository, for a line's fix: "S3_BUCKET, S3_PATH", "REPO_PATH", ... */
export function repositoryVariables(env: Pick<Env, "REPO_TYPE">): string {
  return { s3: "S3_BUCKET, S3_PATH", azure: "AZURE_CONTAINER, AZURE_PATH", gcs: "GCS_BUCKET, GCS_PATH", posix: "REPO_PATH" }[env.REPO_TYPE];
}

/** The variable that gives a stanza a place of its own in the repository: S3_PATH, AZURE_PATH, GCS_PATH or REPO_PATH. */
export function repositoryPathVariable(env: Pick<Env, "REPO_TYPE">): string {
  return { s3: "S3_PATH", azure: "AZURE_PATH", gcs: "GCS_PATH", posix: "REPO_PATH" }[env.REPO_TYPE];
}

/** The bucket of an S3 repository (the rules guarantee it whenever REPO_TYPE=s3 with backups on). */
export function s3Bucket(env: BackupEnv): string {
  if (env.REPO_TYPE !== "s3" || env.S3_BUCKET === undefined) throw new Error(`the repository ${repositoryName(env)} is not an S3 bucket`);
  return env.S3_BUCKET;
}

/** The S3 host and port, with a port inside S3_ENDPOINT taking precedence over S3_PORT. */
export function s3Endpoint(env: Env): { host: string; port: number } {
  return hostAndPort(env.S3_ENDPOINT, env.S3_PORT);
}

/** The blob service's host and port (443 unless AZURE_ENDPOINT names one). */
export function azureEndpoint(env: Env): { host: string; port: number } {
  return hostAndPort(env.AZURE_ENDPOINT, 443);
}

/** The GCS host and port (443 unless GCS_ENDPOINT names one). */
export function gcsEndpoint(env: Env): { host: string; port: number } {
  return hostAndPort(env.GCS_ENDPOINT, 443);
}

/** host, host:port or https://host[:port] (the kinds guarantee the form). */
function hostAndPort(endpoint: string, defaultPort: number): { host: string; port: number } {
  const m = endpoint
    .replace(/^https:\/\//, "")
    .replace(/\/$/, "")
    .match(/^([^:]+)(?::(\d+))?$/)!;
  return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}

/** Settings of a container that backs up: the cross rules guarantee the S3 fields. */
export type BackupEnv = Env & { PGBACKREST_STANZA: string };

export function backupsEnabled(env: Env): env is BackupEnv {
  return env.PGBACKREST_STANZA !== undefined;
}

/**
 * What this container may do with the repository, in one place: off (drop-in mode, no
 * PGBACKREST_STANZA), read-only (REPO_READ_ONLY: restores and clones, never a write), or
 * read-write (archiving, backups, stanza changes).
 */
export type RepositoryMode = "off" | "read-only" | "read-write";

export function repositoryMode(env: Env): RepositoryMode {
  if (!backupsEnabled(env)) return "off";
  return env.REPO_READ_ONLY ? "read-only" : "read-write";
}

/** The repository is read-write: archiving and backups run (and the S3 settings are there). */
export function repositoryWritable(env: Env): env is BackupEnv {
  return repositoryMode(env) === "read-write";
}

/** Why nothing is written to the repository, for log lines; undefined when it is read-write. */
export function repositoryWritesOff(env: Env): string | undefined {
  const mode = repositoryMode(env);
  return mode === "off"
    ? "no repository (drop-in mode: PGBACKREST_STANZA is not set)"
    : mode === "read-only"
      ? "REPO_READ_ONLY: the repository is only restored from"
      : undefined;
}
