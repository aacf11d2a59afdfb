import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withEnvTable } from "./docs.js";

describe("README variable table", () => {
  it("matches runtime/env/table.ts (run `npm run docs` after changing a variable)", () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");
    expect(readme).toBe(withEnvTable(readme));
  });
});
