import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { claimIds, notProvenIds, scenarioIds, scenarioIdsIn } from "./claims.js";

const root = join(import.meta.dirname, "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const claimed = claimIds(readme);
const unproven = notProvenIds(readme);
// The downstream example runs in CI too (examples/downstream/run.sh), on the packed fixtures.
const proven = scenarioIdsIn(join(root, "scenarios"), join(root, "examples", "downstream"));

describe("claims registry: every README claim has a scenario or sits in the not-proven list", () => {
  it("the README marks claims", () => {
    expect(claimed.length).toBeGreaterThan(30);
  });

  it("every claim id is named by a scenario title, or listed as not proven here", () => {
    const orphans = claimed.filter((id) => !proven.has(id) && !unproven.includes(id));
    expect(orphans, "claims with neither a scenario nor a place in the not-proven list").toEqual([]);
  });

  it("no claim is both proven and listed as not proven", () => {
    expect(unproven.filter((id) => proven.has(id))).toEqual([]);
  });

  it("every id the guides in docs/ cite is a README claim, so it is proven or listed too", () => {
    const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md"));
    const cited = docs.flatMap((f) => claimIds(readFileSync(join(root, "docs", f), "utf8")).map((id) => `${f}: ${id}`));
    expect(cited.length).toBeGreaterThan(20);
    expect(cited.filter((c) => !claimed.includes(c.split(": ")[1]))).toEqual([]);
  });

  it("every id a scenario names is a claim in the README (no stale ids)", () => {
    expect([...proven.keys()].filter((id) => !claimed.includes(id))).toEqual([]);
  });
});

describe("claims parsing", () => {
  it("reads ids from titles of describe/it/test, with any quote, and ignores other strings", () => {
    const source = [
      'describe("@restore the disk dies #restore-latest", () => {',
      "  it('keeps rows #restore-rows and #pitr-time', async () => {",
      '    expect(x).toBe("#not-a-title");',
      "  it.each([1])(`case #case-table`, () => {});",
    ].join("\n");
    expect(scenarioIds(source).sort()).toEqual(["case-table", "pitr-time", "restore-latest", "restore-rows"]);
  });

  it("reads the not-proven list only under its heading", () => {
    const text = "A claim [#a].\n\n### Proven here, and not proven here\n\n- [#b] needs AWS\n\n## Next\n\n[#c]\n";
    expect(claimIds(text)).toEqual(["a", "b", "c"]);
    expect(notProvenIds(text)).toEqual(["b"]);
  });
});
