import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

/** The repository root, whatever the current directory of the caller. */
export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
