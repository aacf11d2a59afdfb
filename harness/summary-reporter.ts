/**
 * Prints one plain closing line, "tests: N passed, N failed[, N skipped]", after vitest's own
 * summary: a line any CI can read without knowing vitest's format. After a run of the whole
 * suite it also writes reports/suite-times.json (seconds per file and the run's wall time): the
 * input of `npm run bench`'s suite-time row, which must not run the suite itself. A partial run
 * (some files, or `-t`) leaves the last whole run's report alone: its total would read as a
 * suite well under 15 minutes.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Reporter, TestModule, Vitest } from "vitest/node";
import { projectRoot } from "./paths.js";

/** What reports/suite-times.json holds. */
export interface SuiteTimes {
  finishedAt: string;
  engine: string;
  wallSeconds: number;
  /** Scenario file (relative to the project root) -> seconds of its tests and hooks. */
  files: Record<string, number>;
}

export const suiteTimesFile = join(projectRoot, "reports", "suite-times.json");

export default class SummaryReporter implements Reporter {
  /** vitest creates its reporters at start-up: the wall time includes the global setup (engine, image builds). */
  private readonly startedAt = performance.now();
  private nameFiltered = false;

  onInit(vitest: Vitest): void {
    this.nameFiltered = vitest.config.testNamePattern !== undefined;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") counts.passed++;
        else if (state === "failed") counts.failed++;
        else counts.skipped++;
      }
      // A file that failed before its tests ran (a hook, an import) counts as a failure too.
      if (module.state() === "failed" && ![...module.children.allTests()].some((t) => t.result().state === "failed")) counts.failed++;
    }
    process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ""}\n`);
    this.writeSuiteTimes(testModules);
  }

  private writeSuiteTimes(testModules: ReadonlyArray<TestModule>): void {
    const files: Record<string, number> = {};
    for (const module of testModules) {
      const file = relative(projectRoot, module.moduleId);
      if (file.startsWith("scenarios/")) files[file] = Math.round(module.diagnostic().duration) / 1000;
    }
    const allScenarioFiles = readdirSync(join(projectRoot, "scenarios"), { recursive: true }).filter((f) => String(f).endsWith(".spec.ts"));
    if (this.nameFiltered || Object.keys(files).length !== allScenarioFiles.length) return;
    const times: SuiteTimes = {
      finishedAt: new Date().toISOString(),
      engine: process.env.POSTGRES_BA_ENGINE ?? "podman",
      wallSeconds: Math.round(performance.now() - this.startedAt) / 1000,
      files,
    };
    mkdirSync(join(projectRoot, "reports"), { recursive: true });
    writeFileSync(suiteTimesFile, `${JSON.stringify(times, null, 2)}\n`);
  }
}
