import { describe, expect, it } from "vitest";
import type { ExecResult } from "./exec.js";
import { retryingNameResolution } from "./pgbackrest.js";

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

  it("gives up after three runs with the last failure", async () => {
    const r = runs([lookupPending]);
    expect((await retryingNameResolution(["info"], r.runOnce, 0)).code).toBe(49);
    expect(r.count()).toBe(3);
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
