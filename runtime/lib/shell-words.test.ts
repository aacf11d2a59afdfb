import { describe, expect, it } from "vitest";
import { shellQuote, splitShellWords } from "./shell-words.js";

describe("splitShellWords", () => {
  it("splits like a shell: quotes group, backslashes escape, nothing expands", () => {
    expect(splitShellWords(`--no-data-checksums "--locale=C" --auth-local='peer' a\\ b "$HOME" ''`)).toEqual([
      "--no-data-checksums",
      "--locale=C",
      "--auth-local=peer",
      "a b",
      "$HOME",
      "",
    ]);
  });

  it("refuses an unterminated quote", () => {
    expect(() => splitShellWords(`--locale="C`)).toThrow(/unterminated " quote/);
  });
});

describe("shellQuote", () => {
  it("leaves plain words alone and single-quotes the rest", () => {
    expect(shellQuote("listen_addresses=")).toBe("listen_addresses=");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});
