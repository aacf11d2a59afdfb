import { describe, expect, it } from "vitest";
import { waitingFiles } from "./wal-ahead.js";

describe("waitingFiles", () => {
  it("names what has waited long enough, oldest name first, and nothing that is archived or fresh", () => {
    const now = 100_000;
    const entries = [
      { name: "000000010000000000000005.ready", mtimeMs: now - 30_000 },
      { name: "000000010000000000000004.ready", mtimeMs: now - 40_000 },
      { name: "000000010000000000000003.done", mtimeMs: now - 90_000 },
      { name: "00000002.history.ready", mtimeMs: now - 20_000 },
      { name: "000000010000000000000006.ready", mtimeMs: now - 2_000 },
    ];
    expect(waitingFiles(entries, now, 10_000)).toEqual(["000000010000000000000004", "000000010000000000000005", "00000002.history"]);
    expect(waitingFiles([], now, 10_000)).toEqual([]);
  });
});
