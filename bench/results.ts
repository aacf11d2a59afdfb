/**
 * What `npm run bench` records (bench/results/<UTC timestamp>.json) and the one Markdown table it
 * renders, both for stdout and for the README (`npm run docs` puts it between the bench markers).
 * Pure functions and file names only: no containers here, so the rendering is unit-tested.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

/** The machine and images one invocation measured on: printed above the table. */
export interface BenchMachine {
  cores: number;
  memoryGb: number;
  engine: string;
  s3: string;
  image: string;
  baseImage: string;
  /** UTC, ISO 8601: when the invocation started. */
  date: string;
}

/** One row of the table (issue 13's P1..P8, issue 11's E1), measured against its baseline in the same invocation. */
export interface BenchRow {
  id: string;
  measure: string;
  baseline: string;
  goal: string;
  /** The measurement and its baseline, in words and units. */
  value: string;
  /** The ratio (or ratios) the goal is stated in, e.g. "1.21x pgbench, 0.64x incompressible". */
  ratio: string;
  /** Whether the goal was met; null when the row has no goal or nothing could be measured (e.g. no suite timing report). */
  met: boolean | null;
  /** In --quick mode: what was made smaller than the sizes (empty when nothing was). */
  shrunk?: string;
  /** The raw numbers behind value and ratio (seconds, bytes, TPS), for comparing runs by program. */
  data: Record<string, number | number[]>;
}

export interface BenchResults {
  quick: boolean;
  machine: BenchMachine;
  /** Seconds the whole invocation took. */
  wallSeconds: number;
  rows: BenchRow[];
}

export const resultsDir = "bench/results";
export const benchTableBegin = "<!-- bench:begin (generated from the newest bench/results/*.json by `npm run docs`) -->";
export const benchTableEnd = "<!-- bench:end -->";

/** A file name that sorts by time: 2026-12-06T10-15-00Z.json (no colons, which some file systems refuse). */
export function resultsFileName(date: Date): string {
  return `${date
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/:/g, "-")}.json`;
}

/** The newest results file in `dir` (names sort by time), or undefined when there is none. */
export function newestResultsFile(dir: string): string | undefined {
  const newest = readdirSync(dir)
    .filter((name) => /^\d{4}-\d{2}-\d{2}T[\d-]+Z\.json$/.test(name))
    .sort()
    .at(-1);
  return newest && join(dir, newest);
}

/** A table cell: pipes would split it, line breaks would end the row. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The machine line and the table, as Markdown. */
export function renderResultsTable(results: BenchResults): string {
  const m = results.machine;
  const mode = results.quick ? "`npm run bench -- --quick` (smaller sizes, fewer runs: see each row)" : "`npm run bench`";
  const lines = [
    `${mode}, ${m.date.slice(0, 10)}: ${m.cores} cores, ${m.memoryGb} GB memory, ${m.engine}, S3: ${m.s3}; ` +
      `image ${m.image} on base ${m.baseImage}; ${Math.round(results.wallSeconds / 60)} min in all.`,
    "",
    "| row | measure | baseline | goal | value | ratio | met |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const row of results.rows) {
    const value = row.shrunk ? `${row.value} (quick: ${row.shrunk})` : row.value;
    const met = row.met === null ? "n/a" : row.met ? "yes" : "no";
    lines.push(`| ${[row.id, row.measure, row.baseline, row.goal, value, row.ratio, met].map(cell).join(" | ")} |`);
  }
  return `${lines.join("\n")}\n`;
}

/** The README with the text between the bench markers replaced by `table`. */
export function withBenchTable(readme: string, table: string): string {
  const start = readme.indexOf(benchTableBegin);
  const end = readme.indexOf(benchTableEnd);
  if (start < 0 || end < start) throw new Error("README.md has no bench table markers");
  return `${readme.slice(0, start + benchTableBegin.length)}\n${table}${readme.slice(end)}`;
}
