import { describe, expect, it } from "vitest";
import { cachedStatus } from "./metrics.js";
import type { Status } from "./status.js";

describe("cachedStatus", () => {
  it("gathers once for scrapes that arrive together and reuses the result until it is maxAgeMs old", async () => {
    let gathered = 0;
    let clock = 0;
    const status = cachedStatus(
      async () => ({ gathered: ++gathered }) as unknown as Status,
      1000,
      () => clock,
    );
    await Promise.all([status(), status(), status()]);
    expect(gathered).toBe(1);
    clock = 999;
    await status();
    expect(gathered).toBe(1);
    clock = 1000;
    await status();
    expect(gathered).toBe(2);
  });

  it("does not keep a failure: the next scrape gathers again", async () => {
    let attempts = 0;
    const status = cachedStatus(
      async () => {
        if (++attempts === 1) throw new Error("S3 unreachable");
        return {} as Status;
      },
      1000,
      () => 0,
    );
    await expect(status()).rejects.toThrow("S3 unreachable");
    await expect(status()).resolves.toEqual({});
    expect(attempts).toBe(2);
  });
});
