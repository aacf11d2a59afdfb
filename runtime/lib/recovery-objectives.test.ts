import { describe, expect, it } from "vitest";
import { archiveEnd, firstCommitTime, lsnText, parseLsn, repositoryArchiveEnd, segmentName, waldumpSegments } from "./recovery-objectives.js";

const mb16 = 16 * 1048576;

describe("WAL positions", () => {
  it("reads and writes PostgreSQL's text form", () => {
    expect(parseLsn("16/B374D848")).toBe(0x16b374d848n);
    expect(lsnText(0x16b374d848n)).toBe("16/B374D848");
    expect(lsnText(parseLsn("0/3000028"))).toBe("0/3000028");
  });
});

describe("archiveEnd", () => {
  const flushed = parseLsn("0/7800000");
  it("is the start of the oldest segment waiting for the archiver, a .partial one included", () => {
    const files = ["000000010000000000000005.done", "000000010000000000000006.ready", "000000010000000000000007.ready"];
    expect(archiveEnd(files, flushed, "000000010000000000000007", mb16)).toEqual({ lsn: parseLsn("0/6000000"), segment: "000000010000000000000006" });
    expect(archiveEnd(["000000010000000000000006.partial.ready", "000000020000000000000006.ready"], flushed, "000000020000000000000007", mb16)).toEqual({
      lsn: parseLsn("0/6000000"),
      segment: "000000010000000000000006",
    });
  });
  it("orders by position, not by name: a later timeline's older segment comes first", () => {
    expect(archiveEnd(["000000020000000000000007.ready", "000000010000000000000008.ready"], flushed, "000000020000000000000008", mb16).segment).toBe(
      "000000020000000000000007",
    );
  });
  it("is the start of the segment being written when nothing waits; history and backup files are not WAL", () => {
    const files = ["00000002.history.ready", "000000010000000000000002.00000028.backup.ready", "000000010000000000000006.done"];
    expect(archiveEnd(files, flushed, "000000020000000000000007", mb16)).toEqual({ lsn: parseLsn("0/7000000"), segment: "000000020000000000000007" });
    // Flushed exactly to a segment's end: pg_walfile_name names the finished one, nothing is past it.
    expect(archiveEnd([], parseLsn("0/8000000"), "000000010000000000000007", mb16).lsn).toBe(parseLsn("0/8000000"));
  });
  it("names segments for any segment size", () => {
    expect(segmentName(1, 0x1ffn, mb16)).toBe("0000000100000001000000FF");
    expect(segmentName(3, 0x41n, 64 * 1048576)).toBe("000000030000000100000001");
    expect(archiveEnd(["000000010000000100000001.ready"], parseLsn("1/8000000"), "000000010000000100000002", 64 * 1048576).lsn).toBe(parseLsn("1/4000000"));
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

describe("repositoryArchiveEnd", () => {
  const size = 16 * 1024 * 1024;
  const overall = { lsn: 5n * BigInt(size), segment: "000000010000000000000005" };

  it("moves past the repository's newest segment on the current timeline", () => {
    expect(repositoryArchiveEnd(overall, "000000010000000000000007", size)).toEqual({ lsn: 8n * BigInt(size), segment: "000000010000000000000008" });
  });

  it("keeps archiving's own end for a repository that is not ahead, has nothing, or only another timeline", () => {
    expect(repositoryArchiveEnd(overall, "000000010000000000000004", size)).toBe(overall);
    expect(repositoryArchiveEnd(overall, undefined, size)).toBe(overall);
    expect(repositoryArchiveEnd(overall, "000000020000000000000009", size)).toBe(overall);
  });
});

describe("waldumpSegments", () => {
  const size = 16 * 1024 * 1024;
  it("names the segment the flushed position is in as the last, so pg_waldump accepts an end past the first", () => {
    // Two segments waiting (5 and the one being written, 6): an end in 6 with 5 named alone is refused by pg_waldump.
    expect(waldumpSegments("000000010000000000000005", parseLsn("0/6000120"), "000000010000000000000006", size)).toEqual([
      "000000010000000000000005",
      "000000010000000000000006",
    ]);
  });

  it("takes a position at a segment's very end as inside that segment", () => {
    expect(waldumpSegments("000000010000000000000005", parseLsn("0/6000000"), "000000010000000000000005", size)[1]).toBe("000000010000000000000005");
  });
});
