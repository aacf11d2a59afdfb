/**
 * `npm run break-on-purpose [-- name...]`: proves that scenarios fail when the behaviour they name
 * is removed. For each case, a throwaway worktree of HEAD gets one small edit that breaks one
 * behaviour, the named scenario runs there (its own image, built from the broken runtime), and
 * the case passes only if the scenario FAILS. Prints a Markdown table; the JSON goes to
 * reports/break-on-purpose.json. Commit first: the worktree is HEAD, not the working tree.
 * Never run it beside another container suite (two cores).
 */
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import { projectRoot } from "./paths.js";

interface BreakCase {
  name: string;
  /** What the break removes, in a user's words. */
  behaviour: string;
  file: string;
  find: string;
  replace: string;
  scenario: string;
}

export const cases: BreakCase[] = [
  {
    name: "restart-restores-again",
    behaviour: "a restore request acts once per data directory",
    file: "runtime/datadir/state.ts",
    find: "} else if (dir.appliedRestore && sameRequest(dir.appliedRestore.request, request)) {",
    replace: "} else if (false) {",
    scenario: "scenarios/restart-safety.spec.ts",
  },
  {
    name: "no-data-lock",
    behaviour: "one data directory, one server",
    file: "runtime/lib/data-lock.ts",
    find: 'const child = spawn("flock", ["-n", path,',
    // A lock file of its own per start (a random name: PIDs repeat across containers): nothing is ever contended.
    replace: 'const child = spawn("flock", ["-n", path + String(Math.random()),',
    scenario: "scenarios/exclusive-data.spec.ts",
  },
  {
    name: "supervisor-rethrows",
    behaviour: "a failing optional service is retried, never fatal",
    file: "runtime/lib/supervisor.ts",
    find: "        if (this.signal.aborted) return;\n        const delay",
    replace: "        if (this.signal.aborted) return;\n        process.exit(1);\n        const delay",
    scenario: "scenarios/supervision.spec.ts",
  },
  {
    name: "recovery-over-tcp",
    behaviour: "a restored server is writable before anyone connects over TCP",
    file: "runtime/entrypoint.ts",
    find: 'const recovering = runServer(env, [...serverArgs, "-c", "listen_addresses="], childEnv);',
    replace: "const recovering = runServer(env, serverArgs, childEnv);",
    scenario: "scenarios/restart-safety.spec.ts",
  },
  {
    name: "pgbackrest-options-dropped",
    behaviour: "PGBACKREST_* options reach pgBackRest (encryption asked for means encrypted)",
    file: "runtime/render/pgbackrest-conf.ts",
    find: "    ...passed,\n",
    replace: "",
    scenario: "scenarios/pgbackrest-options.spec.ts",
  },
  {
    name: "first-backup-not-retried",
    behaviour: "a first backup that fails is retried until it succeeds, without a restart",
    file: "runtime/entrypoint.ts",
    find: "        await initBackups(env);\n",
    replace: "        await initBackups(env).catch(() => undefined);\n",
    scenario: "scenarios/first-backup-outage.spec.ts",
  },
  {
    name: "standby-restarted-as-primary",
    behaviour: "a standby's data directory never starts under PG_MODE=primary",
    file: "runtime/datadir/state.ts",
    find: '    case "standby":\n      if (env.PG_MODE === "primary") {',
    replace: '    case "standby":\n      if (false) {',
    scenario: "scenarios/failover.spec.ts",
  },
  {
    name: "archive-push-queue-max-dropped",
    behaviour: "ARCHIVE_PUSH_QUEUE_MAX caps the WAL kept while S3 is unreachable",
    file: "runtime/render/pgbackrest-conf.ts",
    find: '    ["archive-push-queue-max", env.ARCHIVE_PUSH_QUEUE_MAX?.replace(/B$/, "")],\n',
    replace: "",
    scenario: "scenarios/s3-outage.spec.ts",
  },
];

async function runCase(c: BreakCase, head: string): Promise<{ failed: boolean; evidence: string; seconds: number }> {
  const dir = join("/tmp", `break-${c.name}`);
  await $({ quiet: true, nothrow: true })`git -C ${projectRoot} worktree remove --force ${dir}`;
  rmSync(dir, { recursive: true, force: true });
  await $({ quiet: true })`git -C ${projectRoot} worktree add --detach ${dir} ${head}`;
  const started = Date.now();
  try {
    symlinkSync(join(projectRoot, "node_modules"), join(dir, "node_modules"));
    const path = join(dir, c.file);
    const source = readFileSync(path, "utf8");
    const count = source.split(c.find).length - 1;
    if (count !== 1) throw new Error(`${c.name}: expected the text to break exactly once in ${c.file}, found ${count}`);
    writeFileSync(path, source.replace(c.find, c.replace));
    const r = await $({ cwd: dir, quiet: true, nothrow: true, env: { ...process.env, CI: "true" } })`npx vitest run ${c.scenario}`;
    // Without vitest's ANSI colour codes.
    const output = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, "");
    const evidence = (output.match(/(AssertionError|Error): [^\n]*/) ?? [""])[0].slice(0, 200);
    writeFileSync(join(projectRoot, "reports", `break-${c.name}.log`), output);
    return { failed: r.exitCode !== 0, evidence, seconds: Math.round((Date.now() - started) / 1000) };
  } finally {
    await $({ quiet: true, nothrow: true, cwd: dir })`npx tsx harness/cleanup.ts`;
    await $({ quiet: true, nothrow: true })`git -C ${projectRoot} worktree remove --force ${dir}`;
  }
}

const wanted = process.argv.slice(2);
mkdirSync(join(projectRoot, "reports"), { recursive: true });
const head = (await $({ quiet: true })`git -C ${projectRoot} rev-parse HEAD`).stdout.trim();
const results = [];
for (const c of cases.filter((x) => wanted.length === 0 || wanted.includes(x.name))) {
  console.error(`[break-on-purpose] ${c.name}: breaking "${c.behaviour}" in ${c.file}, running ${c.scenario}`);
  const result = await runCase(c, head);
  console.error(`[break-on-purpose] ${c.name}: scenario ${result.failed ? "FAILED, as it must" : "PASSED: it cannot see this break"} (${result.seconds} s)`);
  results.push({ ...c, ...result });
}
console.log("| break | behaviour removed | scenario | result | first failure |\n| --- | --- | --- | --- | --- |");
for (const r of results)
  console.log(`| ${r.name} | ${r.behaviour} | ${r.scenario} | ${r.failed ? "fails (good)" : "PASSES (bad)"} | ${r.evidence.replace(/\|/g, "\\|")} |`);
mkdirSync(join(projectRoot, "reports"), { recursive: true });
writeFileSync(join(projectRoot, "reports", "break-on-purpose.json"), `${JSON.stringify({ head, results }, null, 2)}\n`);
process.exit(results.every((r) => r.failed) ? 0 : 1);
