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

  it("starts the back-off over for a service that ran at least maxMs before it failed", async () => {
    const reports: string[] = [];
    let clock = 0;
    const supervisor = new Supervisor(
      (_, message) => reports.push(message),
      quick,
      () => clock,
    );
    let attempts = 0;
    await supervisor.start({
      name: "server",
      run: async () => {
        attempts++;
        // The second run lasts maxMs (weeks, in production) before it fails.
        if (attempts === 2) clock += quick.maxMs;
        if (attempts < 4) throw new Error("gone");
      },
    });
    expect(reports.map((r) => r.match(/attempt (\d+)/)?.[1])).toEqual(["1", "1", "2"]);
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

describe("Supervisor, details", () => {
  it("waits 2 s after the first failure by default, doubling up to 5 minutes", () => {
    const supervisor = new Supervisor(() => {});
    expect([1, 2, 8, 9, 100].map((a) => supervisor.delayAfter(a))).toEqual([2000, 4000, 256_000, 300_000, 300_000]);
  });

  it("stops doubling after 30 doublings, whatever maxMs allows", () => {
    const supervisor = new Supervisor(() => {}, { firstMs: 1, maxMs: Number.MAX_SAFE_INTEGER });
    expect([31, 32, 1000].map((a) => supervisor.delayAfter(a))).toEqual([2 ** 30, 2 ** 30, 2 ** 30]);
  });

  it("reports the failure with the delay in whole seconds, and a thrown non-Error as text", async () => {
    const reports: Array<[string, string, boolean]> = [];
    const supervisor = new Supervisor(
      (name, message, isError) => {
        reports.push([name, message, isError]);
        supervisor.stop(); // ends the back-off at once
      },
      { firstMs: 1500, maxMs: 60_000 },
    );
    await supervisor.start({
      name: "backups",
      run: async () => {
        throw "S3 unreachable";
      },
    });
    expect(reports).toEqual([["backups", "failed (attempt 1): S3 unreachable; retrying in 2 s", true]]);
  });

  it("does not report a failure that comes after stop(), and runs nothing once stopped", async () => {
    const reports: string[] = [];
    const supervisor = new Supervisor((_, message) => reports.push(message), quick);
    expect(supervisor.signal.aborted).toBe(false);
    await supervisor.start({
      name: "s",
      run: async () => {
        supervisor.stop();
        throw new Error("aborted");
      },
    });
    expect(supervisor.signal.aborted).toBe(true);
    let runs = 0;
    await supervisor.start({
      name: "late",
      run: async () => {
        runs++;
      },
    });
    expect([reports, runs]).toEqual([[], 0]);
  });
});

describe("sleep", () => {
  it("waits the time given", async () => {
    const start = performance.now();
    await sleep(30);
    expect(performance.now() - start).toBeGreaterThanOrEqual(25);
  });

  it("returns at once when the signal is aborted before or during the wait", async () => {
    const before = new AbortController();
    before.abort();
    const start = performance.now();
    await sleep(60_000, before.signal);
    const during = new AbortController();
    setTimeout(() => during.abort(), 5);
    await sleep(60_000, during.signal);
    expect(performance.now() - start).toBeLessThan(5_000);
  });
});

describe("waitFor, polling", () => {
  it("checks again every interval, and is false when aborted while waiting", async () => {
    const controller = new AbortController();
    let checks = 0;
    const result = waitFor(
      async () => {
        if (++checks === 2) controller.abort();
        return false;
      },
      1,
      controller.signal,
    );
    expect(await result).toBe(false);
    expect(checks).toBe(2);
  });
});
