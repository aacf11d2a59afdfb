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
