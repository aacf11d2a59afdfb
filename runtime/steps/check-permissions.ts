/**
 * Before anything is written: every directory this start writes to must be writable (not a
 * read-only mount) and, without root (docker run --user), PGDATA must be this user's own. One
 * line says which path and what to run; exit 73, nothing changed. Read-only mounts that already
 * hold what is needed (provided certificates, a CA with only ca.crt) pass: only writes are checked.
 */
import { existsSync } from "node:fs";
import { exitCodes } from "../lib/exit-codes.js";
import { permissionProblem, probePath, writeNeeds } from "../lib/permissions.js";
import { isRoot } from "../lib/user.js";
import { did, type Step } from "./step.js";
import { FatalError } from "../errors.js";

export const checkPermissions: Step = {
  name: "check-permissions",
  run({ env, account, hasDatabase }) {
    const needs = writeNeeds(env, existsSync, hasDatabase());
    const me = {
      uid: process.getuid!(),
      gid: process.getgid!(),
      root: isRoot(),
      owner: isRoot() ? account : { uid: process.getuid!(), gid: process.getgid!() },
    };
    const problem = permissionProblem(needs, probePath, me);
    // Its own topic: a synchronous throw does not pass through the entrypoint's per-step relabelling.
    if (problem) throw new FatalError(problem, exitCodes.dataDirectory, "check-permissions");
    return did(`writable${me.root ? "" : ` by ${me.uid}:${me.gid}`}: ${[...new Set(needs.map((n) => n.path))].join(", ")}`);
  },
};
