import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseEnv } from "../env/parse.js";
import type { BackupType } from "./pgbackrest.js";
import { BackupScheduler, nextRun, scheduledJobs } from "./scheduler.js";

describe("scheduledJobs and nextRun", () => {
  it("uses the seed's defaults: full Sunday 03:00, diff daily 02:00, incr every 30 minutes", () => {
    const jobs = scheduledJobs(parseEnv({}));
    expect(jobs).toEqual([
      { type: "full", expression: "0 3 * * 0" },
      { type: "diff", expression: "0 2 * * *" },
      { type: "incr", expression: "*/30 * * * *" },
    ]);
    const wednesdayNoon = new Date("2026-11-25T12:10:00");
    expect(nextRun("0 3 * * 0", wednesdayNoon)?.toString()).toBe(new Date("2026-11-29T03:00:00").toString());
    expect(nextRun("*/30 * * * *", wednesdayNoon)?.toString()).toBe(new Date("2026-11-25T12:30:00").toString());
  });

  it("leaves out types turned off", () => {
    expect(scheduledJobs(parseEnv({ BACKUP_SCHEDULE_FULL: "off", BACKUP_SCHEDULE_DIFF: "off" })).map((j) => j.type)).toEqual(["incr"]);
  });
});

describe("BackupScheduler", () => {
  let taken: BackupType[];
  let logs: string[];
  let finish: () => void;
  let scheduler: BackupScheduler;

  beforeEach(() => {
    vi.useFakeTimers();
    taken = [];
    logs = [];
    scheduler = new BackupScheduler(
      [],
      async (type) => {
        taken.push(type);
        await new Promise<void>((r) => (finish = r));
      },
      (m) => logs.push(m),
    );
  });
  afterEach(() => vi.useRealTimers());

  it("merges ticks that coincide into the largest type", async () => {
    scheduler.request("incr");
    scheduler.request("full");
    scheduler.request("diff");
    await vi.advanceTimersByTimeAsync(600);
    expect(taken).toEqual(["full"]);
  });

  it("skips a tick while a backup runs, then runs the next one", async () => {
    scheduler.request("incr");
    await vi.advanceTimersByTimeAsync(600);
    scheduler.request("incr");
    expect(logs).toEqual(["incr tick skipped: a incr backup is still running"]);
    finish();
    await vi.advanceTimersByTimeAsync(0);
    scheduler.request("diff");
    await vi.advanceTimersByTimeAsync(600);
    expect(taken).toEqual(["incr", "diff"]);
  });

  it("merges a tick that comes within half a second of the first, not one after it has started", async () => {
    scheduler.request("incr");
    await vi.advanceTimersByTimeAsync(499);
    expect(taken).toEqual([]);
    scheduler.request("diff");
    await vi.advanceTimersByTimeAsync(1);
    expect(taken).toEqual(["diff"]);
  });

  it("keeps the larger type whatever order the ticks come in", async () => {
    scheduler.request("full");
    scheduler.request("incr");
    scheduler.request("diff");
    await vi.advanceTimersByTimeAsync(600);
    expect(taken).toEqual(["full"]);
  });

  it("runs its cron jobs once started, and no more once stopped", async () => {
    const ticking = new BackupScheduler(
      [{ type: "incr", expression: "* * * * * *" }],
      async (type) => void taken.push(type),
      (m) => logs.push(m),
    );
    vi.setSystemTime(new Date("2026-11-25T12:00:00.000Z"));
    ticking.start();
    await vi.advanceTimersByTimeAsync(1600); // the tick at 12:00:01, and its backup half a second later
    expect(taken).toEqual(["incr"]);
    ticking.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(taken).toEqual(["incr"]);
  });

  it("logs a failed backup and keeps going", async () => {
    const failing = new BackupScheduler(
      [],
      async () => {
        throw new Error("ERROR: [039]: HTTP request failed");
      },
      (m) => logs.push(m),
    );
    failing.request("incr");
    await vi.advanceTimersByTimeAsync(600);
    expect(logs).toEqual(["scheduled incr backup failed, the next tick tries again: ERROR: [039]: HTTP request failed"]);
  });
});

describe("BackupScheduler.describe", () => {
  const noop = async () => {};

  it("says when nothing is scheduled", () => {
    expect(new BackupScheduler([], noop, () => {}).describe()).toBe("no backup type scheduled (all BACKUP_SCHEDULE_* are off)");
  });

  it("lists each job with its next run", () => {
    const wednesdayNoon = new Date("2026-11-25T12:10:00");
    const scheduler = new BackupScheduler(scheduledJobs(parseEnv({ BACKUP_SCHEDULE_DIFF: "off" })), noop, () => {});
    expect(scheduler.describe(wednesdayNoon)).toBe(
      `full "0 3 * * 0" next ${new Date("2026-11-29T03:00:00").toISOString()}; incr "*/30 * * * *" next ${new Date("2026-11-25T12:30:00").toISOString()}`,
    );
  });
});
