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
import { repositoryName, type BackupEnv } from "../env/parse.js";
import { s3Key, s3Request as s3 } from "./s3-request.js";
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
  const where = `the S3 store of ${repositoryName(env)}`;
  if (!probe.readAfterWrite || !probe.listing) {
    return `${where} does not behave as pgBackRest needs (${probe.details.join("; ")}), so its backups could not be restored; no backup was taken. Fix: use a store with read-after-write consistency and complete listings`;
  }
  if (!probe.rangedRead && (env.BACKUP_BUNDLE || env.BACKUP_BLOCK_INCREMENTAL)) {
    return `${where} answers ranged reads with the wrong bytes (${probe.details.join("; ")}); bundled and block-incremental backups are read back that way, so their restores would fail; no backup was taken. Fix: set BACKUP_BUNDLE=false and BACKUP_BLOCK_INCREMENTAL=false (whole-file reads), or use a store that serves ranges correctly`;
  }
  return undefined;
}

/** Why the probe cannot run here, or undefined when it can: it signs its requests with the static keys. */
export function probeSkipped(env: BackupEnv): string | undefined {
  if (env.REPO_TYPE === "posix") return "REPO_TYPE=posix: a file system serves what pgBackRest reads";
  if (env.REPO_TYPE !== "s3") return `REPO_TYPE=${env.REPO_TYPE}: the probe speaks S3; Azure and Google serve ranges as pgBackRest reads them`;
  return env.S3_KEY_TYPE === "shared" ? undefined : `S3_KEY_TYPE=${env.S3_KEY_TYPE}: the probe signs with static keys, and AWS S3 serves ranges correctly`;
}

/** What the probe found, or why it did not run. */
export type StoreVerdict = { skipped: string } | { probe: StoreProbe };

/**
 * The probe, for the first backup and `postgres-ba check` alike: skipped where it cannot run, and
 * a store this configuration may not trust is a RepositoryError with the one line that says why.
 */
export async function trustStore(env: BackupEnv): Promise<StoreVerdict> {
  const skipped = probeSkipped(env);
  if (skipped) return { skipped };
  const probe = await probeStore(env);
  const refusal = storeRefusal(env, probe);
  if (refusal) throw new RepositoryError(refusal);
  return { probe };
}

/** Writes, reads, lists and removes two probe objects. Throws RepositoryError when the store cannot be reached or refuses the keys. */
export async function probeStore(env: BackupEnv): Promise<StoreProbe> {
  const prefix = s3Key(env, ".postgres-ba-store-probe", randomBytes(6).toString("hex"));
  const keys = [`${prefix}/a`, `${prefix}/b`];
  const written: string[] = [];
  const content = randomBytes(probeSize);
  const details: string[] = [];
  try {
    const list = () => s3(env, "GET", "", { query: `list-type=2&prefix=${encodeURIComponent(`${prefix}/`)}` });
    // A read first: a store that refuses the signature answers it with its error code, where a
    // refused upload may only break the connection while the body is still being sent.
    await list();
    for (const key of keys) {
      await s3(env, "PUT", key, { body: content });
      written.push(key);
    }
    // A 404 right after the write is the defect itself, not a missing bucket: read as no bytes.
    const whole = await s3(env, "GET", keys[0], { missingOk: true });
    const readAfterWrite = whole.status !== 404 && whole.body.equals(content);
    if (whole.status === 404) details.push("a read right after a write found no object");
    else if (!readAfterWrite) details.push(`a read right after a write returned ${whole.body.length} bytes that differ from the ${probeSize} written`);

    const ranged = await s3(env, "GET", keys[0], { headers: { Range: `bytes=${probeRange.first}-${probeRange.last}` }, missingOk: true });
    const wanted = content.subarray(probeRange.first, probeRange.last + 1);
    const rangedRead = ranged.status !== 404 && ranged.body.equals(wanted);
    if (!rangedRead) {
      const at = content.indexOf(ranged.body);
      const got = at >= 0 && ranged.body.length > 0 ? `bytes ${at}-${at + ranged.body.length - 1}` : `${ranged.body.length} other bytes`;
      details.push(`asked for bytes ${probeRange.first}-${probeRange.last} of a ${probeSize}-byte object, got ${got}`);
    }

    const listed = await list();
    const names = [...listed.body.toString("utf8").matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unescapeXml(m[1]));
    const listing = keys.every((k) => names.includes(k));
    if (!listing) details.push(`a listing right after writing ${keys.length} objects named ${names.length}`);
    return { readAfterWrite, listing, rangedRead, details };
  } finally {
    for (const key of written) await s3(env, "DELETE", key).catch(() => undefined);
  }
}

const xmlEntities: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'" };

/** A key as the listing's XML escapes it (&amp; and the like), back to its name. */
function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (entity) => xmlEntities[entity]);
}
