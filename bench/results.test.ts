import { describe, expect, it } from "vitest";
import { benchTableBegin, benchTableEnd, type BenchResults, renderResultsTable, resultsFileName, withBenchTable } from "./results.js";

const results: BenchResults = {
  quick: true,
  machine: { cores: 2, memoryGb: 23, engine: "podman", s3: "s3rver over TLS", image: "img:1", baseImage: "base:1", date: "2026-12-06T10:15:00.000Z" },
  wallSeconds: 185,
  rows: [
    {
      id: "P1",
      measure: "full backup",
      baseline: "`pg_basebackup -Ft`",
      goal: ">= 1.5x",
      value: "3.0 s | 4.5 s",
      ratio: "1.50x",
      met: true,
      shrunk: "scale 10",
      data: { seconds: 3 },
    },
    { id: "P6", measure: "suite time", baseline: "total", goal: "<= 15 min", value: "no report", ratio: "-", met: null, data: {} },
    { id: "P7", measure: "image size", baseline: "base", goal: "<= +100 MB", value: "+120 MB", ratio: "1.15x", met: false, data: {} },
  ],
};

describe("renderResultsTable", () => {
  const table = renderResultsTable(results);

  it("describes the machine above the table and says it was a quick run", () => {
    expect(table.split("\n")[0]).toBe(
      "`npm run bench -- --quick` (smaller sizes, fewer runs: see each row), 2026-12-06: 2 cores, 23 GB memory, podman, S3: s3rver over TLS; image img:1 on base base:1; 3 min in all.",
    );
  });

  it("renders one row per measure with value, ratio and met, escaping pipes and marking what quick shrank", () => {
    expect(table.split("\n").slice(2)).toEqual([
      "| row | measure | baseline | goal | value | ratio | met |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      "| P1 | full backup | `pg_basebackup -Ft` | >= 1.5x | 3.0 s \\| 4.5 s (quick: scale 10) | 1.50x | yes |",
      "| P6 | suite time | total | <= 15 min | no report | - | n/a |",
      "| P7 | image size | base | <= +100 MB | +120 MB | 1.15x | no |",
      "",
    ]);
  });
});

describe("withBenchTable", () => {
  it("replaces only what lies between the markers, and says so when they are missing", () => {
    const readme = `before\n${benchTableBegin}\nold table\n${benchTableEnd}\nafter\n`;
    expect(withBenchTable(readme, "new table\n")).toBe(`before\n${benchTableBegin}\nnew table\n${benchTableEnd}\nafter\n`);
    expect(() => withBenchTable("no markers", "t")).toThrow(/no bench table markers/);
  });
});

describe("resultsFileName", () => {
  it("is a UTC timestamp without colons, so names sort by time", () => {
    expect(resultsFileName(new Date("2026-12-06T10:15:00.123Z"))).toBe("2026-12-06T10-15-00Z.json");
  });
});
