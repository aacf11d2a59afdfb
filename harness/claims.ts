/**
 * The claims registry: every claim in the README carries an id (`[#restore-latest]`), and each id
 * is either named by a scenario's title (`it("... #restore-latest", ...)`) or listed, with its
 * reason, under the README's "Proven here, and not proven here" heading. claims.test.ts keeps
 * both sides true, so a claim cannot be added or a scenario removed without the other noticing.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const notProvenHeading = "### Proven here, and not proven here";

const idPattern = /#([a-z0-9]+(?:-[a-z0-9]+)*)/g;

/** Ids marked as claims in a Markdown text: `[#id]`. */
export function claimIds(markdown: string): string[] {
  return [...new Set([...markdown.matchAll(/\[#([a-z0-9]+(?:-[a-z0-9]+)*)\]/g)].map((m) => m[1]))];
}

/** Ids listed in the not-proven section (from its heading to the next heading). */
export function notProvenIds(readme: string): string[] {
  const start = readme.indexOf(notProvenHeading);
  if (start < 0) return [];
  const rest = readme.slice(start + notProvenHeading.length);
  const end = rest.search(/^#{1,3} /m);
  return claimIds(end < 0 ? rest : rest.slice(0, end));
}

/** Ids named in test and suite titles of a spec file's source. */
export function scenarioIds(source: string): string[] {
  const titles = [...source.matchAll(/\b(?:describe|it|test)(?:\.\w+(?:\([^)]*\))?)*\(\s*(["'`])((?:\\.|(?!\1).)*)\1/g)].map((m) => m[2]);
  return [...new Set(titles.flatMap((t) => [...t.matchAll(idPattern)].map((m) => m[1])))];
}

/** Every scenario id with the spec files that name it. */
export function scenarioIdsIn(...dirs: string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const dir of dirs) {
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith(".spec.ts"))
      .sort()) {
      for (const id of scenarioIds(readFileSync(join(dir, file), "utf8"))) found.set(id, [...(found.get(id) ?? []), file]);
    }
  }
  return found;
}
