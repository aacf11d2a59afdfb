/**
 * Node's built-in modules that a resident runtime may never need, loaded on first use: https (S3
 * and Patroni requests) and http (/metrics) kept about 1.5 MB resident in a drop-in container that
 * makes no such request (issue 13's P5, measured in the image). Through createRequire, not
 * import(), which would load Node's ES module loader, nor process.getBuiltinModule, which Node 18
 * (Debian bookworm bases) lacks; a built-in resolves from any base path.
 */
import { createRequire } from "node:module";

const requireBuiltin = createRequire("/");

export function httpsModule(): typeof import("node:https") {
  return requireBuiltin("node:https");
}

export function httpModule(): typeof import("node:http") {
  return requireBuiltin("node:http");
}
