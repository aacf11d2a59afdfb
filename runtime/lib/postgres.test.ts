import { describe, expect, it } from "vitest";
import { postmasterReady } from "./postgres.js";

/** postmaster.pid as PostgreSQL 18 writes it: pid, data directory, start time, port, socket, address, shared memory key, status. */
const pidFile = (startTime: number, status: string) =>
  ["42", "/var/lib/postgresql/18/docker", String(startTime), "5432", "/var/run/postgresql", "*", "  5432001    327680", status, ""].join("\n");

describe("postmasterReady", () => {
  const runStarted = 1_765_000_000;

  it("is true once a postmaster of this run says ready", () => {
    expect(postmasterReady(pidFile(runStarted, "ready   "), runStarted)).toBe(true);
    expect(postmasterReady(pidFile(runStarted + 3, "ready   "), runStarted)).toBe(true);
  });

  it("is false while it starts, stops or runs as a standby that takes no connections", () => {
    for (const status of ["starting", "stopping", "standby "]) expect(postmasterReady(pidFile(runStarted, status), runStarted)).toBe(false);
  });

  it("is false for a file an earlier run left behind (a crash), or none at all", () => {
    expect(postmasterReady(pidFile(runStarted - 1, "ready   "), runStarted)).toBe(false);
    expect(postmasterReady(undefined, runStarted)).toBe(false);
    expect(postmasterReady("42\n/var/lib/postgresql/18/docker\n", runStarted)).toBe(false);
  });
});
