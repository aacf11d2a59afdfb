import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chooseStartPath, type DataDirectory, inspectDataDirectory, restoreRequest, sameRequest } from "./state.js";

const base = { PGDATA: "/var/lib/postgresql/18/docker", PG_MODE: "primary" as const, RESTORE_FROM_BACKUP: false, RESTORE_DELTA: false };
const primary: DataDirectory = { kind: "primary", ours: true };
const applied = (request: Record<string, unknown>): DataDirectory => ({
  kind: "primary",
  ours: true,
  appliedRestore: { request, set: "20261201-000000F", appliedAt: "2026-12-01T00:00:00Z" },
});

describe("chooseStartPath", () => {
  it("an empty directory is initialized, restored, or cloned", () => {
    expect(chooseStartPath(base, { kind: "empty" }).kind).toBe("initialize");
    expect(chooseStartPath({ ...base, RESTORE_FROM_BACKUP: true }, { kind: "empty" })).toMatchObject({ kind: "restore", how: "new" });
    expect(chooseStartPath({ ...base, PG_MODE: "replica" }, { kind: "empty" }).kind).toBe("clone-replica");
  });

  it("a half-restored directory is resumed on request and refused otherwise", () => {
    const dir: DataDirectory = { kind: "half-restored", marker: "/m" };
    expect(chooseStartPath({ ...base, RESTORE_FROM_BACKUP: true }, dir)).toMatchObject({ kind: "restore", how: "resume" });
    expect(chooseStartPath(base, dir)).toMatchObject({ kind: "refuse", exitCode: 73, message: expect.stringMatching(/unfinished restore \(\/m\)/) });
  });

  it("a database is never overwritten without RESTORE_DELTA, and says so", () => {
    const path = chooseStartPath({ ...base, RESTORE_FROM_BACKUP: true }, primary);
    expect(path).toMatchObject({ kind: "start", role: "primary" });
    expect(path.kind === "start" && path.notes[0]).toEqual(["restore-from-backup", expect.stringMatching(/never overwritten/)]);
  });

  it("a delta repair acts once per request: the same request again starts the data, a new one repairs", () => {
    const env = { ...base, RESTORE_FROM_BACKUP: true, RESTORE_DELTA: true };
    expect(chooseStartPath(env, primary)).toMatchObject({ kind: "restore", how: "delta" });
    expect(chooseStartPath(env, applied(restoreRequest(env)))).toMatchObject({
      kind: "start",
      notes: [["restore-from-backup", expect.stringMatching(/already applied .* a restart never restores again/)], expect.anything()],
    });
    expect(chooseStartPath({ ...env, RESTORE_REQUEST_ID: "2" }, applied(restoreRequest(env)))).toMatchObject({ kind: "restore", how: "delta" });
  });

  it("a standby is never started as a primary; a replica resumes it", () => {
    expect(chooseStartPath(base, { kind: "standby" })).toMatchObject({ kind: "refuse", exitCode: 73 });
    expect(chooseStartPath({ ...base, PG_MODE: "replica" }, { kind: "standby" })).toMatchObject({ kind: "start", role: "standby" });
  });

  it("replica mode on a primary's data rejoins or stays; files without a database are not cloned over", () => {
    expect(chooseStartPath({ ...base, PG_MODE: "replica" }, primary).kind).toBe("rejoin-or-stay");
    expect(chooseStartPath({ ...base, PG_MODE: "replica" }, { kind: "not-a-database", entries: 2 })).toMatchObject({ kind: "refuse", exitCode: 73 });
    expect(chooseStartPath(base, { kind: "not-a-database", entries: 2 }).kind).toBe("initialize");
  });

  it("a recovering directory continues its recovery", () => {
    expect(chooseStartPath({ ...base, RESTORE_FROM_BACKUP: true, RESTORE_DELTA: true }, { kind: "recovering" })).toMatchObject({
      kind: "start",
      role: "recovering",
    });
  });
});

describe("restore requests", () => {
  it("are every RESTORE_* value, compared with unset and undefined alike", () => {
    expect(restoreRequest({ RESTORE_DELTA: true, PGDATA: "/x", RESTORE_FROM_BACKUP: true })).toEqual({ RESTORE_DELTA: true, RESTORE_FROM_BACKUP: true });
    expect(sameRequest({ RESTORE_DELTA: true, RESTORE_SET: undefined }, { RESTORE_DELTA: true })).toBe(true);
    expect(sameRequest({ RESTORE_DELTA: true }, { RESTORE_DELTA: true, RESTORE_TARGET_TIME: "2026-12-01 00:00:00+00" })).toBe(false);
  });
});

describe("inspectDataDirectory", () => {
  it("tells empty, files without a database, standby, recovering and primary apart", () => {
    const root = mkdtempSync(join(tmpdir(), "datadir-"));
    const pgdata = join(root, "docker");
    expect(inspectDataDirectory(pgdata)).toEqual({ kind: "empty" });
    mkdirSync(pgdata);
    writeFileSync(join(pgdata, "stray"), "");
    expect(inspectDataDirectory(pgdata)).toEqual({ kind: "not-a-database", entries: 1 });
    writeFileSync(join(pgdata, "PG_VERSION"), "18\n");
    expect(inspectDataDirectory(pgdata)).toEqual({ kind: "primary", ours: false, appliedRestore: undefined });
    writeFileSync(join(pgdata, "recovery.signal"), "");
    expect(inspectDataDirectory(pgdata)).toEqual({ kind: "recovering" });
    writeFileSync(join(pgdata, "standby.signal"), "");
    expect(inspectDataDirectory(pgdata)).toEqual({ kind: "standby" });
    mkdirSync(join(root, ".postgres-ba"));
    writeFileSync(join(root, ".postgres-ba", "docker.restore-in-progress"), "{}");
    expect(inspectDataDirectory(pgdata)).toMatchObject({ kind: "half-restored" });
  });
});
