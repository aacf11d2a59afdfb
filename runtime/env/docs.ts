/** The README's variable table, rendered from the env table (a unit test fails on drift). */
import { envTable, type EnvVar } from "./table.js";

export const tableBegin = "<!-- env-table:begin (generated from runtime/env/table.ts by `npm run docs`) -->";
export const tableEnd = "<!-- env-table:end -->";

export function renderEnvTable(): string {
  const rows: string[] = [];
  let group = "";
  for (const e of envTable as readonly EnvVar[]) {
    if (e.group !== group) {
      group = e.group;
      rows.push("", `**${group}**`, "", "| Variable | Default | Accepts | Description |", "| --- | --- | --- | --- |");
    }
    const def = e.defaultDoc ?? (typeof e.default === "string" ? (e.default === "" ? "(empty)" : `\`${e.default}\``) : "—");
    const name = `\`${e.name}\`${e.fileForm ? ` / \`${e.name}_FILE\`` : ""}`;
    rows.push(`| ${name} | ${def} | ${e.kind.expects.replace(/\|/g, "\\|")} | ${e.doc.replace(/\|/g, "\\|")}${e.secret ? " Secret: never logged." : ""} |`);
  }
  return `${tableBegin}\n${rows.join("\n").trim()}\n${tableEnd}`;
}

/** README text with the generated table put between its markers. */
export function withEnvTable(readme: string): string {
  const start = readme.indexOf(tableBegin);
  const end = readme.indexOf(tableEnd);
  if (start < 0 || end < start) throw new Error("README.md has no env-table markers");
  return readme.slice(0, start) + renderEnvTable() + readme.slice(end + tableEnd.length);
}
