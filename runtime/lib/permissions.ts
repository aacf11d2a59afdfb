/**
 * Where the runtime must write, and whether it can: a read-only mount or a directory owned by
 * another user (docker run --user) is found before anything is written, and reported as one line
 * saying which path and what to run. Read-only mounts that already hold what is needed (a
 * provided CA or server certificate) are fine: only places the runtime writes are checked.
 * writeNeeds and permissionProblem are pure; probePath looks at the file system.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, relative } from "node:path";
import { backupsEnabled, repositories, repositoryWording, repositoryWritable } from "../env/parse.js";
import type { Env } from "../env/table.js";
import { logPath, spoolPath } from "../render/pgbackrest-conf.js";
import { runtimeDir } from "./state.js";
import { tlsPaths } from "./tls-paths.js";

/** A directory the runtime writes to (or creates), and why. */
export interface WriteNeed {
  /** How the user names it: PGDATA, CA_DIR, ... */
  label: string;
  path: string;
  why: string;
  /** PostgreSQL requires its data directory to be owned by the user it runs as. */
  mustOwn: boolean;
  /** Another way out than making it writable. */
  alternative?: string;
  /** A directory of the image, not of a volume: a chown would not outlive the container; group 0 may write it. */
  inImage?: boolean;
}

/** What the file system says about a needed path (or, when it does not exist yet, its nearest existing ancestor). */
export interface Probe {
  /** The nearest existing directory: the path itself when it exists. */
  existing: string;
  uid: number;
  gid: number;
  access: "ok" | "read-only" | "denied";
  /** The mount point it is on, when known (to name the mount a fix is about). */
  mount?: string;
}

/** Who runs the entrypoint, and who must own what it writes (postgres when it runs as root). */
export interface Runner {
  uid: number;
  gid: number;
  root: boolean;
  owner: { uid: number; gid: number };
}

/** The directories this start will write to, given what exists now. */
export function writeNeeds(env: Env, exists: (path: string) => boolean, hasDatabase: boolean): WriteNeed[] {
  const needs: WriteNeed[] = [
    { label: "PGDATA", path: env.PGDATA, why: "the server keeps its data there", mustOwn: true },
    { label: "the runtime directory beside PGDATA", path: runtimeDir(env.PGDATA), why: "the runtime keeps its lock and records there", mustOwn: false },
  ];
  if (env.POSTGRES_INITDB_WALDIR && !hasDatabase) {
    needs.push({ label: "POSTGRES_INITDB_WALDIR", path: env.POSTGRES_INITDB_WALDIR, why: "initdb puts the WAL there", mustOwn: true });
  }
  const tls = tlsPaths(env);
  const haveServerCert = exists(tls.serverCert);
  const haveCa = exists(tls.caCert);
  if (!haveServerCert && !haveCa) {
    needs.push({
      label: "CA_DIR",
      path: env.CA_DIR,
      why: "a CA must be generated (no ca.crt there and no server.crt in SSL_CERT_DIR)",
      mustOwn: false,
      alternative: `provide ca.crt and ca.key in it, or server.crt and server.key in SSL_CERT_DIR ${env.SSL_CERT_DIR} and ca.crt in it`,
    });
  }
  if (!haveServerCert) {
    needs.push({
      label: "SSL_CERT_DIR",
      path: env.SSL_CERT_DIR,
      why: "a server certificate must be generated (no server.crt there)",
      mustOwn: false,
      alternative: "provide server.crt, server.key and root.crt in it",
    });
  } else if (!exists(tls.rootCert) && haveCa) {
    needs.push({
      label: "SSL_CERT_DIR",
      path: env.SSL_CERT_DIR,
      why: "root.crt is copied there from CA_DIR/ca.crt",
      mustOwn: false,
      alternative: "provide root.crt (the CA certificate) in it",
    });
  }
  if (repositoryWritable(env)) {
    for (const r of repositories(env).filter((x) => x.settings.REPO_PATH !== undefined)) {
      needs.push({ label: repositoryWording(r, "REPO_PATH"), path: r.settings.REPO_PATH!, why: "pgBackRest writes the repository there", mustOwn: false });
    }
  }
  if (env.HA_MODE === "patroni") {
    needs.push({
      label: "Patroni's configuration directory",
      path: "/etc/patroni",
      why: "patroni.yml is written there at every start",
      mustOwn: false,
      inImage: true,
    });
  }
  if (backupsEnabled(env)) {
    needs.push(
      { label: "pgBackRest's spool", path: spoolPath, why: "WAL archiving queues segments there", mustOwn: false, inImage: true },
      { label: "pgBackRest's log directory", path: logPath, why: "pgBackRest writes its logs there", mustOwn: false, inImage: true },
      {
        label: "pgBackRest's configuration directory",
        path: "/etc/pgbackrest",
        why: "pgbackrest.conf is written there at every start",
        mustOwn: false,
        inImage: true,
      },
    );
  }
  return needs;
}

/** The nearest existing directory of `path` and whether this process may write there. */
export function probePath(path: string): Probe {
  let existing = path;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const st = statSync(existing);
  let access: Probe["access"] = "ok";
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch (e) {
    access = (e as NodeJS.ErrnoException).code === "EROFS" ? "read-only" : "denied";
  }
  return { existing, uid: st.uid, gid: st.gid, access, mount: mountPointOf(existing, mountPoints()) };
}

/** Mount points from /proc/self/mountinfo (octal escapes such as \040 decoded); empty when unreadable. */
function mountPoints(): string[] {
  try {
    return parseMountPoints(readFileSync("/proc/self/mountinfo", "utf8"));
  } catch {
    return [];
  }
}

export function parseMountPoints(mountinfo: string): string[] {
  return mountinfo
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ")[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/** The innermost mount point holding `path`. */
export function mountPointOf(path: string, mounts: string[]): string | undefined {
  return mounts.filter((m) => m === path || m === "/" || isInside(path, m)).sort((a, b) => b.length - a.length)[0];
}

/**
 * One line naming the path and what to run, or undefined when every need can be met. A read-only
 * mount comes first (its fix differs); ownership problems are gathered into one chown.
 */
export function permissionProblem(needs: WriteNeed[], probe: (path: string) => Probe, me: Runner): string | undefined {
  const probed = needs.map((need) => ({ need, probe: probe(need.path) }));
  const readOnly = probed.find((x) => x.probe.access === "read-only");
  if (readOnly) {
    const { need, probe: p } = readOnly;
    const mount = p.mount ?? p.existing;
    const where =
      p.existing === need.path
        ? `${need.label} ${need.path} is on a read-only mount (${mount})`
        : `${need.label} ${need.path} does not exist and ${p.existing}, where it would be created, is on a read-only mount (${mount})`;
    return `${where}, but ${need.why}; nothing was changed. Fix: mount ${mount} read-write${need.alternative ? `, or ${need.alternative}` : ""}.`;
  }
  const who = `${me.owner.uid}:${me.owner.gid}`;
  const blocked = probed.filter(({ need, probe: p }) => p.access === "denied" || (!me.root && need.mustOwn && p.existing === need.path && p.uid !== me.uid));
  if (!blocked.length) return undefined;
  const reasons = blocked.map(({ need, probe: p }) => {
    const owner = `${p.uid}:${p.gid}`;
    if (p.existing !== need.path) return `${need.label} ${need.path} cannot be created in ${p.existing} (owned by ${owner})`;
    if (!me.root && need.mustOwn && p.uid !== me.uid)
      return `${need.label} ${need.path} belongs to ${owner}, and PostgreSQL runs only on a data directory of its own`;
    return `${need.label} ${need.path} is not writable (owned by ${owner})`;
  });
  // The image's own directories: no chown outlives the container, but group 0 may write them.
  if (!me.root && blocked.every(({ need }) => need.inImage)) {
    return `running as ${me.uid}:${me.gid} (docker run --user): ${reasons.join("; ")}; nothing was changed. Fix: run in group 0 (--user ${me.uid}:0), which the image's directories belong to, or as postgres.`;
  }
  const targets = outermost(blocked.map(({ probe: p }) => p.existing));
  const owner = blocked[0].probe;
  const asUser = me.root ? "" : `running as ${me.uid}:${me.gid} (docker run --user): `;
  return `${asUser}${reasons.join("; ")}; nothing was changed. Fix: chown -R ${who} ${targets.join(" ")} (as root, e.g. in a one-off container with the same volume)${me.root ? "" : `, or run as their owner with --user ${owner.uid}:${owner.gid}`}.`;
}

/** The paths not inside another of them, in first-seen order: one chown -R covers the rest. */
function outermost(paths: string[]): string[] {
  const unique = [...new Set(paths)];
  return unique.filter((p) => !unique.some((q) => q !== p && isInside(p, q)));
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}
