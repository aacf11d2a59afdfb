/**
 * Scenario files, longest first. With two workers the suite ends when its last long file does;
 * vitest orders by its cache of last durations, and a fresh clone (CI) has none, so it falls
 * back to file size, which started the 90 s S3 outage last and left one worker idle beside it
 * for two minutes. These are the longest files of full runs on the two-core CI machine
 * (2026-12-06, reports/suite-times.json; azure-repo builds its server's image on first use),
 * the outage first so its waiting overlaps the CPU-bound config-errors cases.
 */
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const longestFirst = [
  "scenarios/s3-outage.spec.ts",
  "scenarios/ha.spec.ts",
  "scenarios/config-errors.spec.ts",
  "scenarios/alerts.spec.ts",
  "scenarios/compose.spec.ts",
  "scenarios/pitr.spec.ts",
  "scenarios/two-repos.spec.ts",
  "scenarios/recovery-objectives.spec.ts",
  "scenarios/replica-errors.spec.ts",
  "scenarios/failover.spec.ts",
  "scenarios/conformance.spec.ts",
  "scenarios/own-certificates.spec.ts",
  "scenarios/schedule.spec.ts",
  "scenarios/azure-repo.spec.ts",
  "scenarios/s3-store.spec.ts",
  "scenarios/restore-interrupted.spec.ts",
];

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // vitest's order keeps projects (unit before scenarios) together: only reorder within one.
    const order = await super.sort(files);
    const projectStart = new Map<string, number>();
    order.forEach((file, i) => {
      if (!projectStart.has(file.project.name)) projectStart.set(file.project.name, i);
    });
    const rank = (file: TestSpecification) => {
      const i = longestFirst.indexOf(relative(this.ctx.config.root, file.moduleId));
      return i === -1 ? longestFirst.length : i;
    };
    return order
      .map((file, i) => ({ file, i }))
      .sort((a, b) => projectStart.get(a.file.project.name)! - projectStart.get(b.file.project.name)! || rank(a.file) - rank(b.file) || a.i - b.i)
      .map(({ file }) => file);
  }
}
