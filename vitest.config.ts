import { defineConfig } from "vitest/config";
import LongestFirstSequencer from "./harness/sequencer.js";

/**
 * Two projects: `unit` (pure functions, no containers, seconds) and `scenarios` (real
 * containers). The global setup provisions the engine and builds the images once, before any
 * worker starts, so workers share them. Three workers on these two-core machines: a scenario
 * spends much of its time waiting (an S3 outage, a schedule's tick, a timeout), and a third file
 * fills that time (a whole run: 884 s with three, 912-1019 s with two, on the same commit).
 */
export default defineConfig({
  test: {
    reporters: ["default", "./harness/summary-reporter.ts"],
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      {
        test: {
          name: "unit",
          include: ["runtime/**/*.test.ts", "harness/**/*.test.ts", "bench/**/*.test.ts"],
          // Seconds-fast unit tests run (and fail) before any container starts.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "scenarios",
          include: ["scenarios/**/*.spec.ts"],
          globalSetup: ["harness/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          maxWorkers: 3,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
