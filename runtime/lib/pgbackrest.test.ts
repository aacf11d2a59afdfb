import { describe, expect, it } from "vitest";
import type { ExecResult } from "./exec.js";
import { failureReason, retryingNameResolution } from "./pgbackrest.js";

const lookupPending: ExecResult = {
  code: 49,
  stdout: "",
  stderr:
    "ERROR: [049]: unable to load info file '/repo/backup/main/backup.info': HostConnectError: unable to get address for 's3': [-3] Temporary failure in name resolution",
};

function runs(results: ExecResult[]): { runOnce: () => Promise<ExecResult>; count: () => number } {
  let n = 0;
  return { runOnce: async () => results[Math.min(n++, results.length - 1)], count: () => n };
}

describe("retryingNameResolution", () => {
  it("repeats a run whose name lookup failed for the moment, and returns the first that passes", async () => {
    const r = runs([lookupPending, { code: 0, stdout: "ok", stderr: "" }]);
    expect((await retryingNameResolution(["backup"], r.runOnce, 0)).code).toBe(0);
    expect(r.count()).toBe(2);
  });

  it("repeats an info whose JSON reports the pending lookup though it exited 0", async () => {
    const infoJson = (message: string) => ({ code: 0, stdout: JSON.stringify([{ status: { code: 99, message } }]), stderr: "" });
    const r = runs([infoJson("[HostConnectError] unable to get address for 's3': [-3] Temporary failure in name resolution"), infoJson("ok")]);
    expect((await retryingNameResolution(["info", "--output=json"], r.runOnce, 0)).stdout).toContain('"ok"');
    expect(r.count()).toBe(2);
  });

  it("never repeats another command that exited 0, though a WARN names a failed lookup", async () => {
    const fellBack = runs([
      {
        code: 0,
        stdout: "WARN: unable to check pg2: [HostConnectError] unable to get address for 'replica1': [-3] Temporary failure in name resolution",
        stderr: "",
      },
    ]);
    await retryingNameResolution(["backup", "--type=full"], fellBack.runOnce, 0);
    expect(fellBack.count()).toBe(1);
  });

  it("gives up after four runs with the last failure", async () => {
    const r = runs([lookupPending]);
    expect((await retryingNameResolution(["info"], r.runOnce, 0)).code).toBe(49);
    expect(r.count()).toBe(4);
  });

  it("never repeats a restore, a name that does not exist, or another failure", async () => {
    const restore = runs([lookupPending]);
    await retryingNameResolution(["restore", "--delta"], restore.runOnce, 0);
    expect(restore.count()).toBe(1);
    const unknown = runs([{ ...lookupPending, stderr: "unable to get address for 's3': [-2] Name or service not known" }]);
    await retryingNameResolution(["backup"], unknown.runOnce, 0);
    expect(unknown.count()).toBe(1);
    const refused = runs([{ code: 49, stdout: "", stderr: "unable to connect to 's3:9000': [111] Connection refused" }]);
    await retryingNameResolution(["backup"], refused.runOnce, 0);
    expect(refused.count()).toBe(1);
  });
});

describe("failureReason", () => {
  const result = (stdout: string, stderr = "") => ({ code: 49, stdout, stderr });

  it("keeps the causes pgBackRest indents under its ERROR line, once each, without its hints", () => {
    const stdout = [
      "2026-12-07 05:32:48.816 P00   INFO: backup command begin 2.60.0: --exec-id=1-5a0c992e",
      "2026-12-07 05:32:48.837 P00  ERROR: [049]: unable to load info file '/p/backup/x/backup.info' or '/p/backup/x/backup.info.copy':",
      "                                    HostConnectError: unable to get address for 's3': [-3] Temporary failure in name resolution",
      "                                    HostConnectError: unable to get address for 's3': [-3] Temporary failure in name resolution",
      "                                    HINT: backup.info cannot be opened and is required to perform a backup.",
      "2026-12-07 05:32:48.838 P00   INFO: backup command end: aborted with exception [049]",
    ].join("\n");
    expect(failureReason(result(stdout))).toBe(
      "ERROR: [049]: unable to load info file '/p/backup/x/backup.info' or '/p/backup/x/backup.info.copy': HostConnectError: unable to get address for 's3': [-3] Temporary failure in name resolution",
    );
  });

  it("joins separate errors, and names the same one printed to stdout and stderr once", () => {
    const error = "ERROR: [041]: unable to open file: [13] Permission denied";
    expect(failureReason(result(`P00  ${error}\nP00  ERROR: [062]: stop\n`, `${error}\n`))).toBe(`${error} | ERROR: [062]: stop`);
  });

  it("falls back to the last lines of output, then to the exit code", () => {
    expect(failureReason(result("one\ntwo\nthree\nfour\n"))).toBe("two | three | four");
    expect(failureReason(result(""))).toBe("exit code 49");
  });
});
