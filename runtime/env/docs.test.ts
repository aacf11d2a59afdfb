import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { composeVariables, renderEnvExample, withEnvTable } from "./docs.js";
import { envTable } from "./table.js";

const root = join(import.meta.dirname, "..", "..");
const read = (file: string) => readFileSync(join(root, file), "utf8");

describe("README variable table", () => {
  it("matches runtime/env/table.ts (run `npm run docs` after changing a variable)", () => {
    const readme = read("README.md");
    expect(readme).toBe(withEnvTable(readme));
  });
});

describe(".env.example", () => {
  it("matches runtime/env/table.ts (run `npm run docs` after changing a variable)", () => {
    expect(read(".env.example")).toBe(renderEnvExample());
  });

  it("lists every variable of the table, commented out", () => {
    const example = read(".env.example");
    for (const e of envTable) expect(example).toMatch(new RegExp(`^# ${e.name}=`, "m"));
    expect(example).not.toMatch(/^[A-Z_]+=/m);
  });

  it("documents every variable compose.yaml reads, and every secret file it mounts is made by secrets.sh", () => {
    const compose = read("compose.yaml");
    const used = new Set([...compose.matchAll(/\$\{([A-Z0-9_]+)(?::?-[^}]*)?\}/g)].map((m) => m[1]));
    const documented = new Set<string>([...envTable.map((e) => e.name), ...composeVariables.map((c) => c.name)]);
    expect([...used].filter((name) => !documented.has(name))).toEqual([]);
    const files = [...compose.matchAll(/file: \.\/secrets\/(\w+)/g)].map((m) => m[1]);
    expect(files.length).toBeGreaterThan(0);
    const made =
      read("secrets.sh")
        .match(/for name in ([\w ]+); do/)?.[1]
        .split(" ") ?? [];
    expect(files.sort()).toEqual(made.sort());
  });
});
