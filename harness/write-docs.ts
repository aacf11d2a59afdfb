/** `npm run docs`: regenerates the README's variable table and .env.example from the env table. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderEnvExample, withEnvTable } from "../runtime/env/docs.js";
import { projectRoot } from "./paths.js";

const readme = join(projectRoot, "README.md");
writeFileSync(readme, withEnvTable(readFileSync(readme, "utf8")));
writeFileSync(join(projectRoot, ".env.example"), renderEnvExample());
console.log("README.md variable table and .env.example regenerated");
