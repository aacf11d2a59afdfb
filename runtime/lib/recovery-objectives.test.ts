import { describe, expect, it } from "vitest";
import { archivedThrough, firstCommitTime, lsnText, parseLsn } from "./recovery-objectives.js";

const mb16 = 16 * 1048576;

describe("WAL positions", () => {
  it("reads and writes PostgreSQL's text form", () => {
    expect(parseLsn("16/B374D848")).toBe(0x16b374d848n);
    expect(lsnText(0x16b374d848n)).toBe("16/B374D848");
    expect(lsnText(parseLsn("0/3000028"))).toBe("0/3000028");
  });
  it("puts an archived segment's end at the start of the next one, for any segment size", () => {
    expect(lsnText(archivedThrough("000000010000000000000005", mb16)!)).toBe("0/6000000");
    expect(lsnText(archivedThrough("0000000200000001000000FF", mb16)!)).toBe("2/0");
    expect(lsnText(archivedThrough("000000010000000000000005", 64 * 1048576)!)).toBe("0/18000000");
  });
  it("counts a .partial segment only to its start; a history file or nothing is no position", () => {
    expect(lsnText(archivedThrough("000000010000000000000005.partial", mb16)!)).toBe("0/5000000");
    expect(archivedThrough("00000002.history", mb16)).toBeUndefined();
    expect(archivedThrough(undefined, mb16)).toBeUndefined();
    expect(archivedThrough("", mb16)).toBeUndefined();
  });
});

describe("firstCommitTime", () => {
  const waldump = [
    "rmgr: Transaction len (rec/tot):     34/    34, tx:        750, lsn: 0/06000028, prev 0/05FFFFC8, desc: ABORT 2026-12-06 10:14:59.000001 UTC",
    "rmgr: Transaction len (rec/tot):     46/    46, tx:        751, lsn: 0/06000050, prev 0/06000028, desc: COMMIT 2026-12-06 10:15:00.510123 UTC; inval msgs: catcache 55",
    "rmgr: Transaction len (rec/tot):     34/    34, tx:        752, lsn: 0/06000080, prev 0/06000050, desc: COMMIT 2026-12-06 10:15:01.000000 UTC",
  ].join("\n");
  it("reads the first commit's time (aborts skipped), to the millisecond, in UTC", () => {
    expect(firstCommitTime(waldump)?.toISOString()).toBe("2026-12-06T10:15:00.510Z");
    expect(firstCommitTime("desc: COMMIT_PREPARED 745: 2026-12-06 10:15:02.25 UTC")?.toISOString()).toBe("2026-12-06T10:15:02.250Z");
    expect(firstCommitTime("desc: COMMIT 2026-12-06 10:15:03 UTC")?.toISOString()).toBe("2026-12-06T10:15:03.000Z");
  });
  it("finds none in aborts, PostgreSQL's own records or nothing", () => {
    expect(firstCommitTime(waldump.split("\n")[0])).toBeUndefined();
    expect(firstCommitTime("rmgr: Standby len (rec/tot): 50/50, tx: 0, lsn: 0/06000028, prev 0/05FFFFC8, desc: RUNNING_XACTS nextXid 753")).toBeUndefined();
    expect(firstCommitTime("")).toBeUndefined();
  });
});
