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

describe("chooseStartPath, every path in full", () => {
  const initdbNote: [string, string] = ["init-database", "PostgreSQL Database directory appears to contain a database; Skipping initialization"];

  it.for<{ name: string; env: Partial<Parameters<typeof chooseStartPath>[0]>; dir: DataDirectory; path: unknown }>([
    {
      name: "a half-restored directory without RESTORE_FROM_BACKUP is refused",
      env: {},
      dir: { kind: "half-restored", marker: "/var/lib/postgresql/18/.postgres-ba/docker.restore-in-progress" },
      path: {
        kind: "refuse",
        message:
          "PGDATA /var/lib/postgresql/18/docker holds an unfinished restore (/var/lib/postgresql/18/.postgres-ba/docker.restore-in-progress); it is not started half restored. " +
          "Fix: start again with RESTORE_FROM_BACKUP=true to resume it, or empty the volume to initialize a new database.",
        exitCode: 73,
      },
    },
    {
      name: "files without a database in replica mode are refused",
      env: { PG_MODE: "replica" },
      dir: { kind: "not-a-database", entries: 3 },
      path: {
        kind: "refuse",
        message:
          "PGDATA /var/lib/postgresql/18/docker is not empty but holds no database (no PG_VERSION); a replica is cloned only into an empty directory. Fix: empty it or use another volume",
        exitCode: 73,
      },
    },
    {
      name: "files without a database are repaired by a delta restore when asked",
      env: { RESTORE_FROM_BACKUP: true, RESTORE_DELTA: true, PG_MODE: "replica" },
      dir: { kind: "not-a-database", entries: 3 },
      path: { kind: "restore", how: "delta", request: { RESTORE_DELTA: true, RESTORE_FROM_BACKUP: true } },
    },
    {
      name: "files without a database and a restore without delta go to initdb (which refuses them)",
      env: { RESTORE_FROM_BACKUP: true },
      dir: { kind: "not-a-database", entries: 3 },
      path: { kind: "initialize" },
    },
    {
      name: "a standby in primary mode is refused",
      env: {},
      dir: { kind: "standby" },
      path: {
        kind: "refuse",
        message:
          "PGDATA /var/lib/postgresql/18/docker holds a standby (standby.signal) but PG_MODE=primary; a standby becomes a primary only by promotion, never by a restart. " +
          "Fix: start it with PG_MODE=replica and run `postgres-ba promote` in it, or give this container an empty volume",
        exitCode: 73,
      },
    },
    {
      name: "a standby in replica mode resumes streaming",
      env: { PG_MODE: "replica" },
      dir: { kind: "standby" },
      path: { kind: "start", role: "standby", notes: [["clone-replica", "PGDATA holds a standby: it resumes streaming without a new clone"]] },
    },
    {
      name: "a recovering directory continues",
      env: {},
      dir: { kind: "recovering" },
      path: { kind: "start", role: "recovering", notes: [["restore-from-backup", "PGDATA is recovering from a restore: recovery continues"]] },
    },
    {
      name: "a primary's data starts as it is",
      env: {},
      dir: primary,
      path: { kind: "start", role: "primary", notes: [initdbNote] },
    },
    {
      name: "a primary's data with a restore but no delta starts, saying why",
      env: { RESTORE_FROM_BACKUP: true },
      dir: primary,
      path: {
        kind: "start",
        role: "primary",
        notes: [
          ["restore-from-backup", "PGDATA already holds a database, which is never overwritten; set RESTORE_DELTA=true to repair it with a delta restore"],
          initdbNote,
        ],
      },
    },
    {
      name: "a primary's data with the delta restore already applied starts, saying when",
      env: { RESTORE_FROM_BACKUP: true, RESTORE_DELTA: true },
      dir: applied({ RESTORE_DELTA: true, RESTORE_FROM_BACKUP: true }),
      path: {
        kind: "start",
        role: "primary",
        notes: [
          [
            "restore-from-backup",
            "this restore request was already applied to PGDATA at 2026-12-01T00:00:00Z (backup 20261201-000000F): a restart never restores again. " +
              "To repair again with a delta restore, set RESTORE_REQUEST_ID to a new value (or remove the record beside PGDATA)",
          ],
          initdbNote,
        ],
      },
    },
    {
      name: "a primary's data in replica mode rejoins, also when a restore without delta was asked",
      env: { PG_MODE: "replica", RESTORE_FROM_BACKUP: true },
      dir: primary,
      path: { kind: "rejoin-or-stay" },
    },
    {
      name: "a primary's data with a delta restore recorded for another request is repaired",
      env: { RESTORE_FROM_BACKUP: true, RESTORE_DELTA: true, RESTORE_TARGET_NAME: "b" },
      dir: applied({ RESTORE_DELTA: true, RESTORE_FROM_BACKUP: true, RESTORE_TARGET_NAME: "a" }),
      path: { kind: "restore", how: "delta", request: { RESTORE_DELTA: true, RESTORE_FROM_BACKUP: true, RESTORE_TARGET_NAME: "b" } },
    },
  ])("$name", ({ env, dir, path }) => {
    expect(chooseStartPath({ ...base, ...env }, dir)).toStrictEqual(path);
  });
});

describe("restore requests, compared value by value", () => {
  it("are sorted by name, whatever order the environment had", () => {
    expect(Object.keys(restoreRequest({ RESTORE_SET: "x", RESTORE_DELTA: true, RESTORE_FROM_BACKUP: true }))).toEqual([
      "RESTORE_DELTA",
      "RESTORE_FROM_BACKUP",
      "RESTORE_SET",
    ]);
  });

  it.for([
    [{}, {}, true],
    [{ RESTORE_SET: "a" }, { RESTORE_SET: "a" }, true],
    [{ RESTORE_SET: "a" }, { RESTORE_SET: "b" }, false],
    [{ RESTORE_SET: "a" }, {}, false],
    [{}, { RESTORE_SET: "a" }, false],
    [{ RESTORE_DELTA: false }, { RESTORE_DELTA: true }, false],
    [{ RESTORE_SET: null }, {}, true],
  ] as const)("sameRequest(%j, %j) is %s", ([a, b, same]) => {
    expect(sameRequest(a, b)).toBe(same);
  });
});

describe("inspectDataDirectory, details", () => {
  it("an existing directory without entries is empty; an empty PG_VERSION is no database", () => {
    const pgdata = join(mkdtempSync(join(tmpdir(), "datadir-")), "docker");
    mkdirSync(pgdata);
    expect(inspectDataDirectory(pgdata)).toEqual({ kind: "empty" });
    writeFileSync(join(pgdata, "PG_VERSION"), "");
    expect(inspectDataDirectory(pgdata)).toEqual({ kind: "not-a-database", entries: 1 });
  });

  it("a database of this image is ours, with the restore record last applied to it; a half-restored one names its marker", () => {
    const root = mkdtempSync(join(tmpdir(), "datadir-"));
    const pgdata = join(root, "docker");
    mkdirSync(pgdata);
    writeFileSync(join(pgdata, "PG_VERSION"), "18\n");
    writeFileSync(join(pgdata, "postgres-ba.state.json"), JSON.stringify({ backups: "pending", initializedAt: "2026-12-01T00:00:00Z" }));
    const record = { request: { RESTORE_FROM_BACKUP: true }, set: "20261201-000000F", appliedAt: "2026-12-01T00:00:00Z" };
    mkdirSync(join(root, ".postgres-ba"));
    writeFileSync(join(root, ".postgres-ba", "docker.restore-applied.json"), JSON.stringify(record));
    expect(inspectDataDirectory(pgdata)).toEqual({ kind: "primary", ours: true, appliedRestore: record });
    writeFileSync(join(root, ".postgres-ba", "docker.restore-in-progress"), "{}");
    expect(inspectDataDirectory(pgdata)).toEqual({ kind: "half-restored", marker: join(root, ".postgres-ba", "docker.restore-in-progress") });
  });
});
