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

describe("splitShellWords, case by case", () => {
  it.for<[string, string[]]>([
    ["", []],
    ["  \t\n ", []],
    ["a\tb\nc  d", ["a", "b", "c", "d"]],
    [`a"b"'c'd`, ["abcd"]],
    [`"a\\"b" "c\\\\d" "e\\$f" "g\\\`h"`, ['a"b', "c\\d", "e$f", "g`h"]],
    [`"a\\nb"`, ["a\\nb"]],
    [`'a\\b'`, ["a\\b"]],
    [`'it'\\''s'`, ["it's"]],
    [`a\\`, ["a\\"]],
    [`\\"quoted\\"`, ['"quoted"']],
    [`"" x`, ["", "x"]],
  ])("splits %j into %j", ([input, words]) => {
    expect(splitShellWords(input)).toEqual(words);
  });

  it("names the quote left open, also when a backslash ends the input inside it", () => {
    expect(() => splitShellWords("--locale='C")).toThrow("unterminated ' quote");
    expect(() => splitShellWords(`"x\\`)).toThrow('unterminated " quote');
  });
});

describe("shellQuote, case by case", () => {
  it.for([
    ["A-Za-z0-9_./=:,+-", "A-Za-z0-9_./=:,+-"],
    ["", "''"],
    ["a b", "'a b'"],
    ["$HOME", "'$HOME'"],
    ["x;rm", "'x;rm'"],
    ["''", `''\\'''\\'''`],
  ])("quotes %j as %j", ([arg, quoted]) => {
    expect(shellQuote(arg)).toBe(quoted);
  });
});
