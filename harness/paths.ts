import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The nearest directory above `from` holding a package.json. */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/**
 * The repository root, or the installed package's root (the fixtures run from dist/harness/
 * there), whatever the current directory of the caller.
 */
export const projectRoot = packageRoot(dirname(fileURLToPath(import.meta.url)));

/** What pins the dependencies an image bundles: the lock file, or package.json in an installed package (npm ships no lock file). */
export const dependencyPin = existsSync(join(projectRoot, "package-lock.json")) ? join(projectRoot, "package-lock.json") : join(projectRoot, "package.json");
