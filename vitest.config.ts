import { defineConfig } from "vitest/config";
import LongestFirstSequencer from "./harness/sequencer.js";

/**
 * Two projects: `unit` (pure functions, no containers, seconds) and `scenarios` (real
 * containers). The global setup provisions the engine and builds the images once, before any
 * worker starts, so workers share them. Two workers: these machines have two cores, and the
 * suite keeps both busy (a third worker measured 884-1061 s against 912-1019 s with two: no
 * clear gain, and every scenario's deadlines under more load).
 */
export default defineConfig({
  test: {
    reporters: ["default", "./harness/summary-reporter.ts"],
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      {
        test: {
          name: "unit",
          include: ["runtime/**/*.test.ts", "harness/**/*.test.ts", "bench/**/*.test.ts", "deploy/**/*.test.ts"],
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
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
