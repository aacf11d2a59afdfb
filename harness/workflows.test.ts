import { readFileSync } from "node:fs";
import { join } from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { projectRoot } from "./paths.js";

const source = readFileSync(join(projectRoot, ".github", "workflows", "image.yml"), "utf8");

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  jobs: Record<string, { needs?: string; if?: string; steps: Step[]; permissions?: Record<string, string> }>;
}

describe("the image pipeline (.github/workflows/image.yml)", () => {
  it("is a valid GitHub Actions workflow (action-validator, GitHub's published schema)", () => {
    expect(validateWorkflow(source).errors).toEqual([]);
  });

  it("the validator can fail: a job without runs-on is refused", () => {
    const broken = source.replace("    runs-on: ubuntu-24.04\n    timeout-minutes: 60\n    steps:", "    timeout-minutes: 60\n    steps:");
    expect(validateWorkflow(broken).errors).not.toEqual([]);
  });

  it("tests first, then builds the image/ context for amd64 and arm64 and pushes it only after the tests and only on push", () => {
    const workflow = parse(source) as Workflow;
    expect(workflow.jobs.test.steps.map((s) => s.run).filter(Boolean)).toEqual(["npm ci", "npm run lint", "npm test"]);
    const publish = workflow.jobs.publish;
    expect(publish).toMatchObject({ needs: "test", if: "github.event_name == 'push'", permissions: { packages: "write" } });
    const runs = publish.steps.map((s) => s.run).filter(Boolean);
    expect(runs).toContain("npm run build:runtime");
    const build = publish.steps.find((s) => s.uses?.startsWith("docker/build-push-action@"));
    expect(build?.with).toMatchObject({ context: "image", platforms: "linux/amd64,linux/arm64", push: true });
    // The runtime bundle exists before the image build copies it.
    expect(publish.steps.findIndex((s) => s.run === "npm run build:runtime")).toBeLessThan(publish.steps.indexOf(build!));
  });
});
