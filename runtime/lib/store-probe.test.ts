import { describe, expect, it } from "vitest";
import { parseEnv, type BackupEnv } from "../env/parse.js";
import { probeSkipped, storeRefusal, type StoreProbe } from "./store-probe.js";

const backup = { PGBACKREST_STANZA: "main", S3_BUCKET: "backups", S3_ACCESS_KEY: "k", S3_SECRET_KEY: "s" };
const defaults = parseEnv(backup) as BackupEnv;
const wholeFiles = parseEnv({ ...backup, BACKUP_BUNDLE: "false", BACKUP_BLOCK_INCREMENTAL: "false" }) as BackupEnv;
const sound: StoreProbe = { readAfterWrite: true, listing: true, rangedRead: true, details: [] };
const wrongRanges: StoreProbe = { ...sound, rangedRead: false, details: ["asked for bytes 10-19 of a 100000-byte object, got bytes 0-9"] };

describe("storeRefusal", () => {
  it("trusts a store that serves everything", () => {
    expect(storeRefusal(defaults, sound)).toBeUndefined();
  });

  it("refuses wrong ranged reads while bundling or block incremental would rely on them, with the fix", () => {
    expect(storeRefusal(defaults, wrongRanges)).toBe(
      "the S3 store of s3://backups/pgbackrest answers ranged reads with the wrong bytes (asked for bytes 10-19 of a 100000-byte object, got bytes 0-9); " +
        "bundled and block-incremental backups are read back that way, so their restores would fail; no backup was taken. " +
        "Fix: set BACKUP_BUNDLE=false and BACKUP_BLOCK_INCREMENTAL=false (whole-file reads), or use a store that serves ranges correctly",
    );
    const bundleOnly = parseEnv({ ...backup, BACKUP_BLOCK_INCREMENTAL: "false" }) as BackupEnv;
    expect(storeRefusal(bundleOnly, wrongRanges)).toMatch(/answers ranged reads with the wrong bytes/);
    const blockOnly = parseEnv({ ...backup, BACKUP_BUNDLE: "false" }) as BackupEnv;
    expect(storeRefusal(blockOnly, wrongRanges)).toMatch(/answers ranged reads with the wrong bytes/);
  });

  it("accepts wrong ranged reads when backups are read whole", () => {
    expect(storeRefusal(wholeFiles, wrongRanges)).toBeUndefined();
  });

  it("refuses a store without read-after-write or complete listings, whatever the settings", () => {
    const stale: StoreProbe = { ...sound, readAfterWrite: false, details: ["a read right after a write returned 0 bytes that differ from the 100000 written"] };
    expect(storeRefusal(wholeFiles, stale)).toBe(
      "the S3 store of s3://backups/pgbackrest does not behave as pgBackRest needs (a read right after a write returned 0 bytes that differ from the 100000 written), so its backups could not be restored; no backup was taken. Fix: use a store with read-after-write consistency and complete listings",
    );
    expect(storeRefusal(wholeFiles, { ...sound, listing: false, details: ["a listing right after writing 2 objects named 1"] })).toMatch(
      /does not behave as pgBackRest needs \(a listing/,
    );
  });
});

describe("probeSkipped", () => {
  it("runs the probe with static keys only", () => {
    expect(probeSkipped(defaults)).toBeUndefined();
    const { S3_ACCESS_KEY, S3_SECRET_KEY, ...keyless } = backup;
    expect(probeSkipped(parseEnv({ ...keyless, S3_KEY_TYPE: "auto" }) as BackupEnv)).toMatch(/^S3_KEY_TYPE=auto: the probe signs with static keys/);
  });
});
