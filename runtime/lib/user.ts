/**
 * The postgres account, and dropping root to it: PostgreSQL refuses to run as root and
 * pgBackRest 2.59+ too, so the entrypoint (after root-only preparation) and every command run
 * through `docker exec` continue as postgres, like the official image does with gosu.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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

/**
 * initdb looks up the user it runs as and stops when the uid has no passwd entry (`docker run
 * --user 1000650000:0`, OpenShift's random uids). As the official entrypoint does, such a run gets
 * nss_wrapper: a passwd and a group file in `dir` (private, removed with it) naming the uid
 * postgres, preloaded for initdb only. Empty when the uid has an entry; undefined when it has none
 * and the image has no nss_wrapper.
 */
export function passwdForUnknownUid(dir: string, home: string): Record<string, string> | undefined {
  try {
    userInfo();
    return {};
  } catch {
    const library = nssWrapperLibrary();
    if (!library) return undefined;
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    writeFileSync(join(dir, "passwd"), `postgres:x:${uid}:${gid}:PostgreSQL:${home}:/bin/false\n`, { mode: 0o600 });
    writeFileSync(join(dir, "group"), `postgres:x:${gid}:\n`, { mode: 0o600 });
    return { LD_PRELOAD: library, NSS_WRAPPER_PASSWD: join(dir, "passwd"), NSS_WRAPPER_GROUP: join(dir, "group") };
  }
}
