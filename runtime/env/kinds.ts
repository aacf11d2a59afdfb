/**
 * Value kinds of environment variables: how a raw string is parsed, and what a valid value looks
 * like (used in error messages and the README table). A parse failure throws KindError with the
 * expectation, which the parser turns into one line naming the variable, the value and the fix.
 */
import { posix } from "node:path";
import { Cron } from "croner";
import { KindError } from "../errors.js";

export interface Kind<T> {
  /** What a valid value looks like, as a noun phrase: "a whole number 1-64", "one of a, b". */
  readonly expects: string;
  parse(raw: string): T;
}

export const text: Kind<string> = {
  expects: "text",
  parse: (raw) => raw,
};

export function pattern(regex: RegExp, expects: string): Kind<string> {
  return {
    expects,
    parse(raw) {
      if (!regex.test(raw)) throw new KindError(expects);
      return raw;
    },
  };
}

export function int(min: number, max: number): Kind<number> {
  const expects = `a whole number ${min}-${max}`;
  return {
    expects,
    parse(raw) {
      if (!/^\d+$/.test(raw.trim())) throw new KindError(expects);
      const n = Number(raw.trim());
      if (n < min || n > max) throw new KindError(expects);
      return n;
    },
  };
}

export const bool: Kind<boolean> = {
  expects: "true or false",
  parse(raw) {
    const v = raw.trim().toLowerCase();
    if (["true", "yes", "on", "1", "y"].includes(v)) return true;
    if (["false", "no", "off", "0", "n"].includes(v)) return false;
    throw new KindError("true or false");
  },
};

export function oneOf<const T extends string>(...values: T[]): Kind<T> {
  const expects = `one of ${values.join(", ")}`;
  return {
    expects,
    parse(raw) {
      if (!(values as string[]).includes(raw)) throw new KindError(expects);
      return raw as T;
    },
  };
}

/** Absolute path. */
export const path: Kind<string> = pattern(/^\/\S*$/, "an absolute path");

/** An object store's endpoint, as hostAndPort (parse.ts) reads it: host, host:port or https://host[:port]. */
export const storeEndpoint: Kind<string> = pattern(/^(https:\/\/)?[A-Za-z0-9.-]+(:\d{1,5})?\/?$/, "a host name, host:port or https://host[:port]");

/** The repository's path inside a bucket or blob container. */
export const storePath: Kind<string> = pattern(/^\/[^\s]*$/, "a path starting with /");

/** An http:// or https:// URL (its text is never shown: it often holds a token). */
export const httpUrl: Kind<string> = {
  expects: "an http:// or https:// URL",
  parse(raw) {
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw new KindError("an http:// or https:// URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new KindError("an http:// or https:// URL");
    return url.href;
  },
};

/**
 * A cron expression (5 fields, or 6 with seconds first) or "off". Returns null for off.
 * Seconds are allowed so that tests can run a schedule in seconds. An expression no date
 * matches ("0 0 30 2 *": February 30) is refused: the schedule would silently never run.
 */
export const cron: Kind<string | null> = {
  expects: 'a cron expression ("m h dom mon dow", optional leading seconds field) or "off"',
  parse(raw) {
    const v = raw.trim();
    if (v.toLowerCase() === "off") return null;
    const fields = v.split(/\s+/).length;
    if (fields !== 5 && fields !== 6) throw new KindError(this.expects);
    let next: Date | null;
    try {
      const job = new Cron(v, { paused: true });
      next = job.nextRun();
      job.stop();
    } catch {
      throw new KindError(this.expects);
    }
    if (!next) throw new KindError(this.expects, "never fires: no date matches it (such as February 30)");
    return v;
  },
};

/** One of the values, with a reason for values that look plausible but cannot work here. */
export function oneOfExcept<const T extends string>(values: T[], refused: Record<string, string>): Kind<T> {
  const expects = `one of ${values.join(", ")}`;
  return {
    expects,
    parse(raw) {
      if (Object.hasOwn(refused, raw)) throw new KindError(expects, refused[raw]);
      if (!(values as string[]).includes(raw)) throw new KindError(expects);
      return raw as T;
    },
  };
}

/**
 * A PostgreSQL name as the official image takes it: 1-63 bytes of UTF-8 (PostgreSQL's
 * NAMEDATALEN - 1), spaces, quotes and non-ASCII letters allowed. Control characters are refused
 * for every variable by the parser.
 */
export function pgName(what: string, unusable = ""): Kind<string> {
  const expects = `${what} of 1-63 bytes (UTF-8; spaces${unusable ? "" : ", quotes"} and non-ASCII letters allowed${unusable ? `; none of ${[...unusable].join(" ")}` : ""})`;
  return {
    expects,
    parse(raw) {
      const bytes = Buffer.byteLength(raw, "utf8");
      if (bytes > 63) throw new KindError(expects, `is ${bytes} bytes long in UTF-8, but PostgreSQL names hold at most 63 bytes`);
      const bad = [...raw].find((c) => unusable.includes(c));
      if (bad)
        throw new KindError(expects, `contains ${bad}, which PostgreSQL's initdb cannot create a superuser with (the official image fails half-way on it too)`);
      return raw;
    },
  };
}

/** Directories no data, certificate or WAL directory may be in (or be): the image's own system. */
export const systemDirectories = ["/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/sbin", "/sys", "/usr"] as const;

/** The path with "//" and trailing slashes removed, for comparisons. */
export function normalizedPath(p: string): string {
  return posix.normalize(p).replace(/\/+$/, "") || "/";
}

/** True when `inner` is `outer` or below it. */
export function isWithin(inner: string, outer: string): boolean {
  const a = normalizedPath(inner);
  const b = normalizedPath(outer);
  return a === b || a.startsWith(b === "/" ? "/" : `${b}/`);
}

/** An absolute directory the image writes: not "/", not in a system directory, no "." or ".." parts. */
export const directory: Kind<string> = {
  expects: `an absolute directory path, not / and not in ${systemDirectories.join(", ")}`,
  parse(raw) {
    if (!/^\/\S*$/.test(raw)) throw new KindError(this.expects);
    if (raw.split("/").some((part) => part === "." || part === "..")) throw new KindError(this.expects, 'contains "." or ".." path parts');
    if (normalizedPath(raw) === "/") throw new KindError(this.expects, "is the root directory");
    const system = systemDirectories.find((d) => isWithin(raw, d));
    if (system) throw new KindError(this.expects, `is ${normalizedPath(raw) === system ? "" : "inside "}${system}, a system directory of the image`);
    return raw;
  },
};

const maxXid = 2n ** 64n - 1n;

/**
 * recovery_target_xid as PostgreSQL 18 takes it: an unsigned 64-bit number (it parses the value
 * with strtou64 and keeps the low 32 bits), so both a plain xid and an epoch-qualified one from
 * pg_current_xact_id() work. Decimal only here; 0-2 (in the low 32 bits) are not transaction ids
 * a commit can have (InvalidTransactionId, Bootstrap, Frozen): recovery would never reach them.
 */
export const xid: Kind<string> = {
  expects: "a transaction id: a whole number 3-18446744073709551615 (txid_current() or pg_current_xact_id(), epoch included)",
  parse(raw) {
    const v = raw.trim();
    if (!/^\d{1,20}$/.test(v)) throw new KindError(this.expects);
    const n = BigInt(v);
    if (n > maxXid) throw new KindError(this.expects, "is larger than 2^64-1, beyond any transaction id PostgreSQL accepts");
    if ((n & 0xffffffffn) < 3n) throw new KindError(this.expects, "names a special transaction id (0, 1 or 2 in the low 32 bits) that no commit has");
    return v;
  },
};

/**
 * A restore point name PostgreSQL can recover to after pgBackRest writes it into
 * postgresql.auto.conf: 1-63 bytes (pg_create_restore_point's limit), without a single quote
 * or a backslash (the configuration file would end the string there or unescape it).
 */
export const restorePointName: Kind<string> = {
  expects: "a restore point name (pg_create_restore_point) of 1-63 bytes without ' or \\",
  parse(raw) {
    if (/['\\]/.test(raw))
      throw new KindError(
        this.expects,
        `contains ${raw.includes("'") ? "a single quote" : "a backslash"}, which PostgreSQL's recovery_target_name cannot carry through postgresql.auto.conf`,
      );
    const bytes = Buffer.byteLength(raw, "utf8");
    if (bytes > 63) throw new KindError(this.expects, `is ${bytes} bytes long; restore point names hold at most 63 bytes`);
    return raw;
  },
};

/** A timestamp with a time zone, on a date that exists (no February 30), as recovery_target_time. */
export const timestampTz: Kind<string> = {
  expects: "a timestamp with time zone on a real date, e.g. 2026-11-25 14:30:00+00",
  parse(raw) {
    const m = raw.match(/^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-](\d{2})(?::?(\d{2}))?)$/);
    if (!m) throw new KindError(this.expects);
    const [year, month, day, hour, minute, second, , offH, offM] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? "0", m[7], m[8] ?? "0", m[9] ?? "0"].map(Number);
    if (month < 1 || month > 12) throw new KindError(this.expects, `has month ${m[2]}`);
    const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (day < 1 || day > days) throw new KindError(this.expects, `names day ${m[3]} of a month that has ${days} days`);
    if (hour > 23 || minute > 59 || second > 60) throw new KindError(this.expects, "is not a time of day (hours 0-23, minutes 0-59)");
    if (offH > 15 || offM > 59) throw new KindError(this.expects, "has a time zone offset beyond ±15:59");
    return raw;
  },
};
