import { describe, expect, it } from "vitest";
import { minimumSpoolBytes, spoolProblem } from "./check-spool-space.js";

describe("spoolProblem", () => {
  it("accepts the minimum and more, and names the free space when it is less", () => {
    expect(spoolProblem(minimumSpoolBytes)).toBeUndefined();
    expect(spoolProblem(minimumSpoolBytes - 1)).toMatch(/^\/var\/spool\/pgbackrest has 16\.0 MB free, less than the 16\.0 MB/);
    expect(spoolProblem(512 * 1024)).toMatch(/has 0\.5 MB free/);
  });
});
