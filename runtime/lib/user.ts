/**
 * The postgres account, and dropping root to it: PostgreSQL refuses to run as root and
 * pgBackRest 2.59+ too, so the entrypoint (after root-only preparation) and every command run
 * through `docker exec` continue as postgres, like the official image does with gosu.
 */
import { readFileSync } from "node:fs";

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
