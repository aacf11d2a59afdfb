/**
 * Turns the process environment into typed settings, or one ConfigError naming the variable,
 * the value and the fix. Pure apart from reading *_FILE secrets (injectable for tests).
 */
import { readFileSync } from "node:fs";
import { KindError } from "./kinds.js";
import { envTable, type Env, type EnvVar } from "./table.js";

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${variable}: ${problem}. Fix: ${fix}.`);
  }
}

export type RawEnv = Record<string, string | undefined>;
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
    throw new ConfigError(spec.name, `both ${spec.name} and ${fileVar} are set, but they are exclusive`, `set only one of them`);
  }
  if (file === undefined) return direct;
  try {
    return readFile(file).replace(/\n+$/, "");
  } catch (e) {
    throw new ConfigError(fileVar, `${JSON.stringify(file)} cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`, `mount the secret file at that path or correct ${fileVar}`);
  }
}

export function parseEnv(source: RawEnv, readFile: ReadFile = (p) => readFileSync(p, "utf8")): Env {
  const raws = new Map<string, string | undefined>();
  const values: Record<string, unknown> = {};
  for (const entry of envTable) {
    const spec = entry as EnvVar;
    let raw = readRaw(spec, source, readFile);
    if (raw === undefined && spec.default !== undefined) {
      raw = typeof spec.default === "function" ? spec.default((n) => raws.get(n)) : spec.default;
    }
    raws.set(spec.name, raw);
    if (raw === undefined) continue;
    try {
      values[spec.name] = spec.kind.parse(raw);
    } catch (e) {
      if (!(e instanceof KindError)) throw e;
      const def = defaultText(spec);
      throw new ConfigError(
        `${spec.name}=${shown(spec, raw)}`,
        `expected ${e.message}`,
        `set ${spec.name} to ${e.message}${def ? `, or unset it for the default (${def})` : ""}`,
      );
    }
  }
  const env = values as Env;
  for (const rule of crossRules) rule(env, source);
  return env;
}

const restoreTargets = ["RESTORE_TARGET_TIME", "RESTORE_TARGET_LSN", "RESTORE_TARGET_XID", "RESTORE_TARGET_NAME", "RESTORE_TARGET_IMMEDIATE"] as const;

/** Rules between variables; each throws a ConfigError when broken. */
const crossRules: Array<(env: Env, source: RawEnv) => void> = [
  (env) => {
    if (env.PG_MODE === "replica" && env.RESTORE_FROM_BACKUP) {
      throw new ConfigError("RESTORE_FROM_BACKUP=true with PG_MODE=replica", "a container either restores a primary from S3 or clones a replica, not both",
        "unset RESTORE_FROM_BACKUP for a replica, or set PG_MODE=primary to restore");
    }
  },
  (env) => {
    if (env.PG_MODE !== "replica") return;
    if (!env.PRIMARY_HOST) {
      throw new ConfigError("PRIMARY_HOST", "is required because PG_MODE=replica: a replica needs a primary to clone and stream from", "set PRIMARY_HOST to the primary's host name (e.g. PRIMARY_HOST=db-primary), or set PG_MODE=primary");
    }
    if (!env.REPLICATION_PASSWORD) {
      throw new ConfigError("REPLICATION_PASSWORD", `is required because PG_MODE=replica: the replica connects to ${env.PRIMARY_HOST} as ${env.REPLICATION_USER}`,
        "set REPLICATION_PASSWORD (or REPLICATION_PASSWORD_FILE) to the value the primary was started with");
    }
    if (env.REPLICA_BOOTSTRAP === "backup" && !env.PGBACKREST_STANZA) {
      throw new ConfigError("REPLICA_BOOTSTRAP=backup", "restores from the primary's repository, but PGBACKREST_STANZA is not set",
        "set PGBACKREST_STANZA and the S3_* variables of the primary, or use REPLICA_BOOTSTRAP=basebackup");
    }
  },
  (env) => {
    if (env.REPLICATION_PASSWORD && env.REPLICATION_USER === env.POSTGRES_USER) {
      throw new ConfigError(`REPLICATION_USER=${JSON.stringify(env.REPLICATION_USER)}`, "is the superuser; replication uses a role of its own that is not a superuser",
        "choose another name (default replicator)");
    }
  },
  (env) => {
    if (env.RESTORE_FROM_BACKUP && !env.PGBACKREST_STANZA) {
      throw new ConfigError("RESTORE_FROM_BACKUP=true", "restoring needs a repository, but PGBACKREST_STANZA is not set",
        "set PGBACKREST_STANZA and the S3_* variables of the backup to restore");
    }
  },
  (env) => {
    const targets = restoreTargets.filter((name) => env[name] !== undefined && env[name] !== false);
    if (targets.length > 1) {
      throw new ConfigError(targets.join(" and "), "only one recovery target can be set", `keep one of ${targets.join(", ")}`);
    }
    const restoreOnly = ["RESTORE_DELTA", "RESTORE_SET", ...restoreTargets] as const;
    const stray = restoreOnly.find((name) => env[name] !== undefined && env[name] !== false);
    if (stray && !env.RESTORE_FROM_BACKUP) {
      throw new ConfigError(stray, "only applies to a restore, but RESTORE_FROM_BACKUP is not true", `set RESTORE_FROM_BACKUP=true, or unset ${stray}`);
    }
  },
  (env) => {
    if (env.PGBACKREST_STANZA) {
      for (const name of ["S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY"] as const) {
        if (env[name] === undefined) {
          const spec = byName.get(name)!;
          throw new ConfigError(name, `is required because PGBACKREST_STANZA=${JSON.stringify(env.PGBACKREST_STANZA)} enables backups`,
            `set ${name}${spec.fileForm ? ` (or ${name}_FILE)` : ""}, or unset PGBACKREST_STANZA for drop-in mode without backups`);
        }
      }
    }
  },
  (env) => {
    if (!env.PGBACKREST_STANZA && env.S3_BUCKET !== undefined) {
      throw new ConfigError(`S3_BUCKET=${JSON.stringify(env.S3_BUCKET)}`, "is set but PGBACKREST_STANZA is not, so no backup would ever be taken",
        "set PGBACKREST_STANZA (e.g. PGBACKREST_STANZA=main), or unset S3_BUCKET for drop-in mode");
    }
  },
];

/** The S3 host and port, with a port inside S3_ENDPOINT taking precedence over S3_PORT. */
export function s3Endpoint(env: Env): { host: string; port: number } {
  const m = env.S3_ENDPOINT.replace(/^https:\/\//, "").replace(/\/$/, "").match(/^([^:]+)(?::(\d+))?$/)!;
  return { host: m[1], port: m[2] ? Number(m[2]) : env.S3_PORT };
}

/** Settings of a container that backs up: the cross rules guarantee the S3 fields. */
export type BackupEnv = Env & { PGBACKREST_STANZA: string; S3_BUCKET: string; S3_ACCESS_KEY: string; S3_SECRET_KEY: string };

export function backupsEnabled(env: Env): env is BackupEnv {
  return env.PGBACKREST_STANZA !== undefined;
}
