/**
 * Creates the directories the server, TLS and pgBackRest write to and hands them to postgres.
 * Runs as root before the privilege drop; as another user (docker run --user) it only checks.
 * Idempotent: mkdir -p and chown of what is not postgres' yet.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { backupsEnabled, repositoryDirectories, repositoryWritable } from "../env/parse.js";
import { runtimeDir } from "../lib/state.js";
import { isRoot, type Account } from "../lib/user.js";
import { logPath, spoolPath } from "../render/pgbackrest-conf.js";
import { did, type Step } from "./step.js";

export const prepareDirectories: Step = {
  name: "prepare-directories",
  run({ env, account }) {
    const owned: Array<[string, number]> = [
      [env.PGDATA, 0o700],
      ["/var/run/postgresql", 0o3775],
      [env.CA_DIR, 0o700],
      [env.SSL_CERT_DIR, 0o700],
      [runtimeDir(env.PGDATA), 0o700],
    ];
    if (env.POSTGRES_INITDB_WALDIR) owned.push([env.POSTGRES_INITDB_WALDIR, 0o700]);
    if (backupsEnabled(env)) owned.push([logPath, 0o770], [spoolPath, 0o750], ["/etc/pgbackrest", 0o750]);
    for (const [dir, mode] of owned) {
      mkdirSync(dir, { recursive: true });
      if (isRoot()) chownTree(dir, account);
      try {
        chmodSync(dir, mode);
      } catch {
        // As in the official image: not fatal (e.g. a bind mount we may not chmod); PostgreSQL
        // itself reports a data directory with wrong permissions.
      }
    }
    // Patroni renames a data directory it failed to bootstrap and recreates one it reinitializes,
    // in PGDATA's parent: that directory itself becomes postgres' (not what else it holds).
    // A root-squashed mount: Patroni says so if it ever needs to rename the data directory.
    if (env.HA_MODE === "patroni" && isRoot()) chownUnlessForbidden(dirname(env.PGDATA), account);
    // A posix repository: only its top directory (a fresh mount is root's); what pgBackRest
    // writes inside is postgres' already, and walking a large repository at every start is slow.
    const repository = repositoryWritable(env) ? repositoryDirectories(env) : [];
    for (const dir of repository) {
      mkdirSync(dir, { recursive: true });
      // An NFS export with root squashed: check-permissions has already proven postgres can write to it.
      if (isRoot() && lstatSync(dir).uid !== account.uid) chownUnlessForbidden(dir, account);
    }
    return did(`${[...owned.map(([d]) => d), ...repository].join(", ")} ready for ${account.name}${isRoot() ? "" : " (not root: ownership left as is)"}`);
  },
};

/** chown of one directory, left as it is where the mount forbids root to (root squashed, read-only). */
function chownUnlessForbidden(dir: string, account: Account): void {
  try {
    chownSync(dir, account.uid, account.gid);
  } catch (e) {
    if (!["EPERM", "EROFS", "EACCES"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
  }
}

/** chown what is not owned by postgres yet, like `find \! -user postgres -exec chown`. */
function chownTree(path: string, account: Account): void {
  const st = lstatSync(path);
  try {
    if (st.uid !== account.uid || st.gid !== account.gid) chownSync(path, account.uid, account.gid);
  } catch (e) {
    // A read-only mount (a provided CA, say) keeps its owner; readability is checked where it is used.
    if (!["EROFS", "EPERM"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
  }
  if (st.isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), account);
}
