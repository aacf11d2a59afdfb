/**
 * The postgres account, and dropping root to it: PostgreSQL refuses to run as root and
 * pgBackRest 2.59+ too, so the entrypoint (after root-only preparation) and every command run
 * through `docker exec` continue as postgres, like the official image does with gosu.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export function postgresAccount(): Account {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (!line) throw new Error("the image has no postgres user in /etc/passwd");
  const [name, , uid, gid, , home] = line.split(":");
  return { name, uid: Number(uid), gid: Number(gid), home };
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Irreversible for this process: from here on everything runs as postgres. */
export function becomeAccount(account: Account): void {
  // Present on POSIX Node, missing from @types/node.
  (process as unknown as { initgroups(user: string, group: number): void }).initgroups(account.name, account.gid);
  process.setgid!(account.gid);
  process.setuid!(account.uid);
  process.env.HOME = account.home;
  process.env.USER = account.name;
  process.env.LOGNAME = account.name;
}

/** libnss_wrapper.so where the official entrypoint looks for it ({/usr,}/lib{/*,}/): Alpine's nss_wrapper, Debian's libnss-wrapper (per architecture). */
function nssWrapperLibrary(): string | undefined {
  for (const lib of ["/usr/lib", "/lib"]) {
    const dirs = [
      lib,
      ...readdirSync(lib, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => join(lib, d.name)),
    ];
    const found = dirs.map((d) => join(d, "libnss_wrapper.so")).find((path) => existsSync(path));
    if (found) return found;
  }
  return undefined;
}

/** Where the passwd and group files for an unknown uid live: the container's own /tmp, kept for its life. */
const nssDir = (uid: number) => `/tmp/postgres-ba-nss-${uid}`;

/**
 * initdb, `postgres --single` (which pg_rewind and Patroni run on a crashed server) and a few
 * more look up the user they run as, and stop when the uid has no passwd entry (`docker run
 * --user 1000650000:0`, OpenShift's random uids). As the official entrypoint does for initdb,
 * such a container gets nss_wrapper, here for every child of this process: a passwd and a group
 * file naming the uid postgres, preloaded through this process's environment (children inherit
 * it; Patroni's children too). "known" when the uid has an entry (nothing changes), "wrapped"
 * once set, "unavailable" when the image has no nss_wrapper.
 */
export function providePasswdEntry(home: string): "known" | "wrapped" | "unavailable" {
  try {
    userInfo();
    return "known";
  } catch {
    if (process.env.NSS_WRAPPER_PASSWD) return "wrapped";
    const library = nssWrapperLibrary();
    if (!library) return "unavailable";
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const dir = nssDir(uid);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, "passwd"), `postgres:x:${uid}:${gid}:PostgreSQL:${home}:/bin/false\n`, { mode: 0o600 });
    writeFileSync(join(dir, "group"), `postgres:x:${gid}:\n`, { mode: 0o600 });
    Object.assign(process.env, { LD_PRELOAD: library, NSS_WRAPPER_PASSWD: join(dir, "passwd"), NSS_WRAPPER_GROUP: join(dir, "group") });
    return "wrapped";
  }
}
