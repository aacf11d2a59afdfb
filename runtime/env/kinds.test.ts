import { describe, expect, it } from "vitest";
import { KindError } from "../errors.js";
import {
  bool,
  cron,
  directory,
  httpUrl,
  int,
  isWithin,
  normalizedPath,
  oneOf,
  oneOfExcept,
  path,
  pattern,
  pgName,
  restorePointName,
  text,
  timestampTz,
  xid,
  type Kind,
} from "./kinds.js";

/** The KindError a value gets: what a valid value looks like, and the reason when there is one. */
function refusal<T>(kind: Kind<T>, raw: string): { expects: string; reason: string | undefined } {
  try {
    kind.parse(raw);
  } catch (e) {
    if (e instanceof KindError) return { expects: e.message, reason: e.reason };
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be refused`);
}

describe("text and pattern", () => {
  it("text takes anything as is", () => {
    expect(text.parse(" a b ")).toBe(" a b ");
    expect(text.expects).toBe("text");
  });

  it("pattern returns the value when it matches, else names what it expects", () => {
    const size = pattern(/^\d+GB$/, "a size such as 4GB");
    expect(size.parse("4GB")).toBe("4GB");
    expect(size.expects).toBe("a size such as 4GB");
    expect(refusal(size, "4 GB")).toEqual({ expects: "a size such as 4GB", reason: undefined });
  });
});

describe("httpUrl", () => {
  it("accepts http and https URLs, normalized", () => {
    expect(httpUrl.parse("https://hooks.example/T0KEN?x=1")).toBe("https://hooks.example/T0KEN?x=1");
    expect(httpUrl.parse(" http://receiver:8080 ")).toBe("http://receiver:8080/");
  });

  it.for(["hooks.example/T0KEN", "ftp://hooks.example/", "mailto:ops@example.com", ""])("refuses %j", (raw) => {
    expect(refusal(httpUrl, raw)).toEqual({ expects: "an http:// or https:// URL", reason: undefined });
  });
});

describe("int", () => {
  const port = int(1, 65535);

  it("says its range", () => {
    expect(port.expects).toBe("a whole number 1-65535");
  });

  it.for([
    ["1", 1],
    ["65535", 65535],
    [" 80 ", 80],
    ["0080", 80],
  ] as const)("takes %j as %d", ([raw, n]) => {
    expect(port.parse(raw)).toBe(n);
  });

  it.for(["0", "65536", "-1", "1.5", "1e3", "", " ", "x1"])("refuses %j", (raw) => {
    expect(refusal(port, raw)).toEqual({ expects: "a whole number 1-65535", reason: undefined });
  });
});

describe("bool", () => {
  it.for(["true", "yes", "on", "1", "y", " TRUE ", "Yes"])("takes %j as true", (raw) => {
    expect(bool.parse(raw)).toBe(true);
  });

  it.for(["false", "no", "off", "0", "n", " False ", "OFF"])("takes %j as false", (raw) => {
    expect(bool.parse(raw)).toBe(false);
  });

  it.for(["", "2", "ja", "t"])("refuses %j", (raw) => {
    expect(refusal(bool, raw)).toEqual({ expects: "true or false", reason: undefined });
  });
});

describe("oneOf and oneOfExcept", () => {
  it("oneOf takes only the listed values, exactly", () => {
    const style = oneOf("host", "path");
    expect(style.expects).toBe("one of host, path");
    expect(style.parse("path")).toBe("path");
    expect(refusal(style, "Path")).toEqual({ expects: "one of host, path", reason: undefined });
  });

  it("oneOfExcept gives the reason for a refused value, and none for an unknown one", () => {
    const method = oneOfExcept(["md5", "trust"], { ldap: "ldap needs a server" });
    expect(method.expects).toBe("one of md5, trust");
    expect(method.parse("md5")).toBe("md5");
    expect(refusal(method, "ldap")).toEqual({ expects: "one of md5, trust", reason: "ldap needs a server" });
    expect(refusal(method, "gss")).toEqual({ expects: "one of md5, trust", reason: undefined });
    // Only the table's own keys are reasons, not what every object inherits.
    expect(refusal(method, "toString")).toEqual({ expects: "one of md5, trust", reason: undefined });
  });
});

describe("cron", () => {
  const expects = 'a cron expression ("m h dom mon dow", optional leading seconds field) or "off"';

  it.for([
    ["0 3 * * 0", "0 3 * * 0"],
    [" */20 * * * * * ", "*/20 * * * * *"],
    ["0 0 29 2 *", "0 0 29 2 *"],
  ])("takes %j as %j", ([raw, parsed]) => {
    expect(cron.parse(raw)).toBe(parsed);
  });

  it.for(["off", "OFF", " Off "])("takes %j as off (null)", (raw) => {
    expect(cron.parse(raw)).toBeNull();
  });

  it.for(["* * * *", "0 0 * * * * *", "61 * * * *", "0 0 * * mon-xyz", ""])("refuses %j", (raw) => {
    expect(refusal(cron, raw)).toEqual({ expects, reason: undefined });
  });

  it("refuses an expression no date matches, saying so", () => {
    expect(refusal(cron, "0 0 30 2 *")).toEqual({ expects, reason: "never fires: no date matches it (such as February 30)" });
  });
});

describe("pgName", () => {
  it("says what it takes, with or without the unusable characters", () => {
    expect(pgName("a database name").expects).toBe("a database name of 1-63 bytes (UTF-8; spaces, quotes and non-ASCII letters allowed)");
    expect(pgName("a role name", `"$`).expects).toBe('a role name of 1-63 bytes (UTF-8; spaces and non-ASCII letters allowed; none of " $)');
  });

  it("takes 63 bytes, refuses 64, counting UTF-8 bytes", () => {
    const name = pgName("a name");
    expect(name.parse("a".repeat(63))).toBe("a".repeat(63));
    expect(refusal(name, "a".repeat(64)).reason).toBe("is 64 bytes long in UTF-8, but PostgreSQL names hold at most 63 bytes");
    expect(refusal(name, "é".repeat(32)).reason).toBe("is 64 bytes long in UTF-8, but PostgreSQL names hold at most 63 bytes");
  });

  it("refuses the first unusable character, naming it", () => {
    const role = pgName("a role name", `"$'\\`);
    expect(role.parse("o brien")).toBe("o brien");
    expect(refusal(role, "a$b'c").reason).toBe(
      "contains $, which PostgreSQL's initdb cannot create a superuser with (the official image fails half-way on it too)",
    );
    expect(pgName("a database name").parse(`it's "x"`)).toBe(`it's "x"`);
  });
});

describe("paths", () => {
  it.for([
    ["/var/lib//pg/", "/var/lib/pg"],
    ["/", "/"],
    ["//", "/"],
    ["/a/./b", "/a/b"],
  ])("normalizedPath(%j) is %j", ([p, n]) => {
    expect(normalizedPath(p)).toBe(n);
  });

  it.for([
    ["/var/lib/pg", "/var/lib/pg", true],
    ["/var/lib/pg/", "/var/lib/pg", true],
    ["/var/lib/pg/data", "/var/lib/pg", true],
    ["/var/lib/pgdata", "/var/lib/pg", false],
    ["/var/lib", "/var/lib/pg", false],
    ["/anything", "/", true],
    ["/", "/", true],
  ] as const)("isWithin(%j, %j) is %s", ([inner, outer, within]) => {
    expect(isWithin(inner, outer)).toBe(within);
  });

  const expects = "an absolute directory path, not / and not in /bin, /boot, /dev, /etc, /lib, /lib64, /proc, /sbin, /sys, /usr";

  it.for<[string, string | undefined]>([
    ["relative/dir", undefined],
    ["/with space", undefined],
    ["/a/../b", 'contains "." or ".." path parts'],
    ["/a/./b", 'contains "." or ".." path parts'],
    ["/", "is the root directory"],
    ["///", "is the root directory"],
    ["/etc", "is /etc, a system directory of the image"],
    ["/etc/", "is /etc, a system directory of the image"],
    ["/usr/local/data", "is inside /usr, a system directory of the image"],
    ["/lib64/x", "is inside /lib64, a system directory of the image"],
  ])("directory refuses %j", ([raw, reason]) => {
    expect(refusal(directory, raw)).toEqual({ expects, reason });
  });

  it("path takes an absolute path without spaces, whole", () => {
    expect(path.parse("/etc/ssl/ca.pem")).toBe("/etc/ssl/ca.pem");
    expect(refusal(path, "certs/ca.pem")).toEqual({ expects: "an absolute path", reason: undefined });
    expect(refusal(path, "/my certs/ca.pem")).toEqual({ expects: "an absolute path", reason: undefined });
  });

  it("directory takes a directory beside a system one", () => {
    expect(directory.parse("/usrdata/pg")).toBe("/usrdata/pg");
    expect(directory.parse("/var/lib/postgresql/18/docker")).toBe("/var/lib/postgresql/18/docker");
  });
});

describe("xid", () => {
  const expects = "a transaction id: a whole number 3-18446744073709551615 (txid_current() or pg_current_xact_id(), epoch included)";

  it.for(["3", " 1234 ", "4294967299", "18446744073709551615"])("takes %j", (raw) => {
    expect(xid.parse(raw)).toBe(raw.trim());
  });

  it.for<[string, string | undefined]>([
    ["0x10", undefined],
    ["-3", undefined],
    ["123456789012345678901", undefined],
    ["18446744073709551616", "is larger than 2^64-1, beyond any transaction id PostgreSQL accepts"],
    ["2", "names a special transaction id (0, 1 or 2 in the low 32 bits) that no commit has"],
    ["0", "names a special transaction id (0, 1 or 2 in the low 32 bits) that no commit has"],
    ["4294967298", "names a special transaction id (0, 1 or 2 in the low 32 bits) that no commit has"],
  ])("refuses %j", ([raw, reason]) => {
    expect(refusal(xid, raw)).toEqual({ expects, reason });
  });
});

describe("restorePointName", () => {
  const expects = "a restore point name (pg_create_restore_point) of 1-63 bytes without ' or \\";

  it("takes 63 bytes of anything but a quote or a backslash", () => {
    expect(restorePointName.parse("before migration")).toBe("before migration");
    expect(restorePointName.parse("n".repeat(63))).toBe("n".repeat(63));
  });

  it.for([
    ["it's", "contains a single quote, which PostgreSQL's recovery_target_name cannot carry through postgresql.auto.conf"],
    ["a\\b", "contains a backslash, which PostgreSQL's recovery_target_name cannot carry through postgresql.auto.conf"],
    ["a\\b'c", "contains a single quote, which PostgreSQL's recovery_target_name cannot carry through postgresql.auto.conf"],
    ["n".repeat(64), "is 64 bytes long; restore point names hold at most 63 bytes"],
    ["é".repeat(32), "is 64 bytes long; restore point names hold at most 63 bytes"],
  ])("refuses %j", ([raw, reason]) => {
    expect(refusal(restorePointName, raw)).toEqual({ expects, reason });
  });
});

describe("timestampTz", () => {
  const expects = "a timestamp with time zone on a real date, e.g. 2026-11-25 14:30:00+00";

  it.for([
    "2026-11-25 14:30:00+00",
    "2026-11-25T14:30Z",
    "2026-11-25 14:30:00.123-05:30",
    "2026-11-25 14:30:00+0530",
    "2026-12-31 23:59:60Z",
    "2028-02-29 00:00:00+15:59",
    "2026-01-01 00:00:00-15",
  ])("takes %j as it is", (raw) => {
    expect(timestampTz.parse(raw)).toBe(raw);
  });

  it.for<[string, string | undefined]>([
    ["2026-11-25", undefined],
    ["2026-11-25 14:30:00", undefined],
    ["2026-11-25 14:30:00 UTC", undefined],
    ["x2026-11-25 14:30:00Z", undefined],
    ["2026-11-25 14:30:00+05:3099", undefined],
    ["2026-00-10 00:00:00Z", "has month 00"],
    ["2026-13-01 00:00:00Z", "has month 13"],
    ["2026-02-29 00:00:00Z", "names day 29 of a month that has 28 days"],
    ["2026-04-31 00:00:00Z", "names day 31 of a month that has 30 days"],
    ["2026-04-00 00:00:00Z", "names day 00 of a month that has 30 days"],
    ["2026-11-25 24:00:00Z", "is not a time of day (hours 0-23, minutes 0-59)"],
    ["2026-11-25 23:60:00Z", "is not a time of day (hours 0-23, minutes 0-59)"],
    ["2026-11-25 23:59:61Z", "is not a time of day (hours 0-23, minutes 0-59)"],
    ["2026-11-25 12:00:00+16", "has a time zone offset beyond ±15:59"],
    ["2026-11-25 12:00:00+01:60", "has a time zone offset beyond ±15:59"],
  ])("refuses %j", ([raw, reason]) => {
    expect(refusal(timestampTz, raw)).toEqual({ expects, reason });
  });
});
