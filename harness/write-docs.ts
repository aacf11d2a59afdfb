/**
 * `npm run docs`: regenerates the README's variable table and .env.example from the env table,
 * and the README's benchmark table from the newest bench/results/*.json (`npm run bench`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BenchResults, newestResultsFile, renderResultsTable, resultsDir, withBenchTable } from "../bench/results.js";
import { renderEnvExample, withEnvTable } from "../runtime/env/docs.js";
import { projectRoot } from "./paths.js";

const readme = join(projectRoot, "README.md");
let text = withEnvTable(readFileSync(readme, "utf8"));
const results = newestResultsFile(join(projectRoot, resultsDir));
if (results) text = withBenchTable(text, renderResultsTable(JSON.parse(readFileSync(results, "utf8")) as BenchResults));
writeFileSync(readme, text);
writeFileSync(join(projectRoot, ".env.example"), renderEnvExample());
console.log(`README.md variable table${results ? `, benchmark table (from ${results.slice(projectRoot.length + 1)})` : ""} and .env.example regenerated`);
