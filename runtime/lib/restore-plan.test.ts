import { describe, expect, it } from "vitest";
import { parseEnv } from "../env/parse.js";
import { lsnValue, planRestore, type RepoBackup } from "./restore-plan.js";

const t = (iso: string) => Date.parse(iso) / 1000;
const backups: RepoBackup[] = [
  {
    label: "20261120-030000F",
    type: "full",
    timestamp: { start: t("2026-11-20T03:00:00Z"), stop: t("2026-11-20T03:05:00Z") },
    lsn: { start: "0/2000028", stop: "0/2000100" },
  },
  {
    label: "20261120-030000F_20261124-020000D",
    type: "diff",
    timestamp: { start: t("2026-11-24T02:00:00Z"), stop: t("2026-11-24T02:01:00Z") },
    lsn: { start: "0/9000028", stop: "0/9000100" },
  },
];
const now = new Date("2026-11-25T12:00:00Z");
const base = { PGBACKREST_STANZA: "main", S3_BUCKET: "bkt", S3_ACCESS_KEY: "k", S3_SECRET_KEY: "s", RESTORE_FROM_BACKUP: "true" };
const plan = (extra: Record<string, string>) => planRestore(parseEnv({ ...base, ...extra }), backups, now);

describe("planRestore", () => {
  it("restores the latest backup and all archived WAL by default, promoting at the end", () => {
    const p = plan({});
    expect(p.args).toEqual(["restore", "--set=20261120-030000F_20261124-020000D", "--type=default"]);
    expect(p.summary).toBe(
      "backup 20261120-030000F_20261124-020000D (diff, ended 2026-11-24T02:01:00.000Z), recovery to the end of the archived WAL, then promote",
    );
  });

  it("uses the newest backup that ended before a time target, and promotes by default", () => {
    expect(plan({ RESTORE_TARGET_TIME: "2026-11-22 10:00:00+00" }).args).toEqual([
      "restore",
      "--set=20261120-030000F",
      "--type=time",
      "--target=2026-11-22 10:00:00+00",
      "--target-action=promote",
    ]);
  });

  it("does the same for an LSN target", () => {
    expect(plan({ RESTORE_TARGET_LSN: "0/5000000" }).set).toBe("20261120-030000F");
    expect(plan({ RESTORE_TARGET_LSN: "0/A000000" }).set).toBe("20261120-030000F_20261124-020000D");
  });

  it("refuses a time in the future or before the oldest backup", () => {
    expect(() => plan({ RESTORE_TARGET_TIME: "2026-12-01 00:00:00+00" })).toThrow(/is in the future/);
    expect(() => plan({ RESTORE_TARGET_TIME: "2026-11-19T00:00:00Z" })).toThrow(
      /is before the oldest backup 20261120-030000F, which ended at 2026-11-20T03:05:00.000Z/,
    );
  });

  it("passes names, xids, immediate and the target action through", () => {
    expect(plan({ RESTORE_TARGET_NAME: "before-upgrade", RESTORE_TARGET_ACTION: "pause" }).args.slice(2)).toEqual([
      "--type=name",
      "--target=before-upgrade",
      "--target-action=pause",
    ]);
    expect(plan({ RESTORE_TARGET_IMMEDIATE: "true", RESTORE_SET: "20261120-030000F" }).args).toEqual([
      "restore",
      "--set=20261120-030000F",
      "--type=immediate",
      "--target-action=promote",
    ]);
  });

  it("refuses an unknown backup set and an empty repository", () => {
    expect(() => plan({ RESTORE_SET: "20250101-000000F" })).toThrow(
      /RESTORE_SET=20250101-000000F is not in the repository\. Fix: use one of 20261120-030000F, /,
    );
    expect(() => planRestore(parseEnv(base), [], now)).toThrow(/holds no backup/);
  });

  it("compares LSNs numerically", () => {
    expect(lsnValue("1/0") > lsnValue("0/FFFFFFFF")).toBe(true);
  });
});

describe("planRestore, in full", () => {
  /** The RESTORE_* settings planRestore reads, none set but `extra`, without parseEnv's checks. */
  const restoreEnv = (extra: Partial<Parameters<typeof planRestore>[0]>): Parameters<typeof planRestore>[0] => ({
    RESTORE_TARGET_TIME: undefined,
    RESTORE_TARGET_LSN: undefined,
    RESTORE_TARGET_XID: undefined,
    RESTORE_TARGET_NAME: undefined,
    RESTORE_TARGET_IMMEDIATE: false,
    RESTORE_SET: undefined,
    RESTORE_TARGET_ACTION: "promote",
    REPO_TYPE: "s3",
    ...extra,
  });
  const message = (env: Parameters<typeof planRestore>[0], list: RepoBackup[] = backups) => {
    try {
      planRestore(env, list, now);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error("expected a refusal");
  };

  it.for<{ name: string; env: Record<string, string>; args: string[]; summary: string }>([
    {
      name: "a transaction id",
      env: { RESTORE_TARGET_XID: "1234" },
      args: ["restore", "--set=20261120-030000F_20261124-020000D", "--type=xid", "--target=1234", "--target-action=promote"],
      summary: "backup 20261120-030000F_20261124-020000D (diff, ended 2026-11-24T02:01:00.000Z), recovery to transaction 1234, then promote",
    },
    {
      name: "a restore point, then pause",
      env: { RESTORE_TARGET_NAME: "before-upgrade", RESTORE_TARGET_ACTION: "pause" },
      args: ["restore", "--set=20261120-030000F_20261124-020000D", "--type=name", "--target=before-upgrade", "--target-action=pause"],
      summary: 'backup 20261120-030000F_20261124-020000D (diff, ended 2026-11-24T02:01:00.000Z), recovery to restore point "before-upgrade", then pause',
    },
    {
      name: "the end of the backup, then shutdown",
      env: { RESTORE_TARGET_IMMEDIATE: "true", RESTORE_TARGET_ACTION: "shutdown" },
      args: ["restore", "--set=20261120-030000F_20261124-020000D", "--type=immediate", "--target-action=shutdown"],
      summary: "backup 20261120-030000F_20261124-020000D (diff, ended 2026-11-24T02:01:00.000Z), recovery to the end of the backup (immediate), then shutdown",
    },
    {
      name: "a time (the backup that ended before it)",
      env: { RESTORE_TARGET_TIME: "2026-11-22 10:00:00+00" },
      args: ["restore", "--set=20261120-030000F", "--type=time", "--target=2026-11-22 10:00:00+00", "--target-action=promote"],
      summary: "backup 20261120-030000F (full, ended 2026-11-20T03:05:00.000Z), recovery to time 2026-11-22 10:00:00+00, then promote",
    },
    {
      name: "an LSN (the backup that ended before it)",
      env: { RESTORE_TARGET_LSN: "0/5000000" },
      args: ["restore", "--set=20261120-030000F", "--type=lsn", "--target=0/5000000", "--target-action=promote"],
      summary: "backup 20261120-030000F (full, ended 2026-11-20T03:05:00.000Z), recovery to LSN 0/5000000, then promote",
    },
    {
      name: "no target with pause asked: all WAL, and promote all the same",
      env: { RESTORE_TARGET_ACTION: "pause" },
      args: ["restore", "--set=20261120-030000F_20261124-020000D", "--type=default"],
      summary: "backup 20261120-030000F_20261124-020000D (diff, ended 2026-11-24T02:01:00.000Z), recovery to the end of the archived WAL, then promote",
    },
    {
      name: "a time with a named older set",
      env: { RESTORE_TARGET_TIME: "2026-11-25 10:00:00+00", RESTORE_SET: "20261120-030000F" },
      args: ["restore", "--set=20261120-030000F", "--type=time", "--target=2026-11-25 10:00:00+00", "--target-action=promote"],
      summary: "backup 20261120-030000F (full, ended 2026-11-20T03:05:00.000Z), recovery to time 2026-11-25 10:00:00+00, then promote",
    },
  ])("plans $name", ({ env, args, summary }) => {
    expect(plan(env)).toEqual({ set: args[1].slice("--set=".length), args, summary });
  });

  it("takes a backup that ended exactly at the target time or LSN", () => {
    expect(plan({ RESTORE_TARGET_TIME: "2026-11-24 02:01:00+00" }).set).toBe("20261120-030000F_20261124-020000D");
    expect(plan({ RESTORE_TARGET_TIME: "2026-11-24 02:00:59+00" }).set).toBe("20261120-030000F");
    expect(plan({ RESTORE_TARGET_LSN: "0/9000100" }).set).toBe("20261120-030000F_20261124-020000D");
    expect(plan({ RESTORE_TARGET_LSN: "0/90000FF" }).set).toBe("20261120-030000F");
  });

  it("reads a +hh offset as hours: 04:01 at +02 is 02:01 UTC", () => {
    expect(plan({ RESTORE_TARGET_TIME: "2026-11-24 04:01:00+02" }).set).toBe("20261120-030000F_20261124-020000D");
    expect(plan({ RESTORE_TARGET_TIME: "2026-11-24 04:00:59+02" }).set).toBe("20261120-030000F");
  });

  it("accepts a target time of exactly now", () => {
    expect(planRestore(restoreEnv({ RESTORE_TARGET_TIME: now.toISOString() }), backups, now).set).toBe("20261120-030000F_20261124-020000D");
  });

  it("leaves backups without an LSN out of an LSN target", () => {
    const noLsn = [{ ...backups[0], lsn: undefined }, backups[1]];
    expect(planRestore(restoreEnv({ RESTORE_TARGET_LSN: "0/A000000" }), noLsn, now).set).toBe("20261120-030000F_20261124-020000D");
    expect(message(restoreEnv({ RESTORE_TARGET_LSN: "0/5000000" }), noLsn)).toBe(
      "RESTORE_TARGET_LSN=0/5000000 is before the end of the oldest backup 20261120-030000F. Fix: choose a later LSN.",
    );
  });

  it.for<{ name: string; env: Partial<Parameters<typeof planRestore>[0]>; message: string }>([
    {
      name: "a time that is not one",
      env: { RESTORE_TARGET_TIME: "garbage" },
      message: 'RESTORE_TARGET_TIME="garbage" is not a valid time. Fix: use a timestamp with time zone, e.g. 2026-11-25 14:30:00+00.',
    },
    {
      name: "a time in the future",
      env: { RESTORE_TARGET_TIME: "2026-12-01 00:00:00+00" },
      message:
        "RESTORE_TARGET_TIME=2026-12-01 00:00:00+00 is in the future (now 2026-11-25T12:00:00.000Z). Fix: choose a time in the past, or unset it to restore everything archived.",
    },
    {
      name: "a time before the oldest backup",
      env: { RESTORE_TARGET_TIME: "2026-11-20 03:04:59+00" },
      message:
        "RESTORE_TARGET_TIME=2026-11-20 03:04:59+00 is before the oldest backup 20261120-030000F, which ended at 2026-11-20T03:05:00.000Z. Fix: choose a later time: WAL before the oldest backup is not kept.",
    },
    {
      name: "an LSN before the end of the oldest backup",
      env: { RESTORE_TARGET_LSN: "0/20000FF" },
      message: "RESTORE_TARGET_LSN=0/20000FF is before the end of the oldest backup 20261120-030000F (0/2000100). Fix: choose a later LSN.",
    },
    {
      name: "an unknown set",
      env: { RESTORE_SET: "20250101-000000F" },
      message: "RESTORE_SET=20250101-000000F is not in the repository. Fix: use one of 20261120-030000F, 20261120-030000F_20261124-020000D.",
    },
  ])("refuses $name", ({ env, message: expected }) => {
    expect(message(restoreEnv(env))).toBe(expected);
  });

  it("refuses an empty repository", () => {
    expect(message(restoreEnv({}), [])).toBe(
      "the repository holds no backup to restore. Fix: check S3_BUCKET, S3_PATH and PGBACKREST_STANZA, or take a backup first.",
    );
  });

  it.for([
    ["0/0", 0n],
    ["0/10", 16n],
    ["1/0", 4294967296n],
    ["A/FF", 10n * 4294967296n + 255n],
  ] as const)("lsnValue(%s) is %s", ([lsn, value]) => {
    expect(lsnValue(lsn)).toBe(value);
  });
});
