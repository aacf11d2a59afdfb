/** `npm run docs`: regenerates the README's variable table from the env table. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withEnvTable } from "../runtime/env/docs.js";
import { projectRoot } from "./paths.js";

const readme = join(projectRoot, "README.md");
writeFileSync(readme, withEnvTable(readFileSync(readme, "utf8")));
console.log("README.md variable table regenerated");
