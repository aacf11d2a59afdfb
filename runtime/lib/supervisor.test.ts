import { describe, expect, it } from "vitest";
import { type Service, Supervisor, sleep, waitFor } from "./supervisor.js";

const quick = { firstMs: 5, maxMs: 20 };

describe("Supervisor", () => {
  it("retries a failing service with a growing back-off until it succeeds, and reports each failure", async () => {
    const reports: string[] = [];
    const supervisor = new Supervisor((name, message, isError) => reports.push(`${name}|${isError}|${message}`), quick);
    let attempts = 0;
    const service: Service = {
      name: "metrics",
      run: async () => {
        attempts++;
        if (attempts < 3) throw new Error("EADDRINUSE");
      },
    };
    await supervisor.start(service);
    expect(attempts).toBe(3);
    expect(reports).toEqual(["metrics|true|failed (attempt 1): EADDRINUSE; retrying in 0 s", "metrics|true|failed (attempt 2): EADDRINUSE; retrying in 0 s"]);
  });

  it("never rethrows, even when the report itself throws", async () => {
    const supervisor = new Supervisor(() => {
      throw new Error("log closed");
    }, quick);
    let attempts = 0;
    const flaky: Service = {
      name: "x",
      run: async () => {
        if (++attempts === 1) throw new Error("boom");
      },
    };
    await expect(supervisor.start(flaky)).resolves.toBeUndefined();
    expect(attempts).toBe(2);
  });

  it("stop() ends long-running services and stops retries", async () => {
    const supervisor = new Supervisor(() => {}, { firstMs: 60_000, maxMs: 60_000 });
    let runs = 0;
    const done = supervisor.start({
      name: "failing",
      run: async () => {
        runs++;
        throw new Error("down");
      },
    });
    const waiting = supervisor.start({ name: "schedule", run: (signal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve())) });
    await sleep(10);
    supervisor.stop();
    await Promise.all([done, waiting]);
    expect(runs).toBe(1);
  });

  it("doubles the delay from firstMs up to maxMs", () => {
    const supervisor = new Supervisor(() => {}, { firstMs: 1000, maxMs: 5000 });
    expect([1, 2, 3, 4, 50].map((a) => supervisor.delayAfter(a))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
});

describe("waitFor", () => {
  it("is true once the check passes and false when aborted first", async () => {
    let n = 0;
    expect(await waitFor(async () => ++n === 3, 1, new AbortController().signal)).toBe(true);
    const aborted = new AbortController();
    aborted.abort();
    expect(await waitFor(async () => true, 1, aborted.signal)).toBe(false);
  });
});
