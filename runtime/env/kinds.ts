/**
 * Value kinds of environment variables: how a raw string is parsed, and what a valid value looks
 * like (used in error messages and the README table). A parse failure throws KindError with the
 * expectation, which the parser turns into one line naming the variable, the value and the fix.
 */
import { Cron } from "croner";

export class KindError extends Error {}

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

/**
 * A cron expression (5 fields, or 6 with seconds first) or "off". Returns null for off.
 * Seconds are allowed so that tests can run a schedule in seconds.
 */
export const cron: Kind<string | null> = {
  expects: 'a cron expression ("m h dom mon dow", optional leading seconds field) or "off"',
  parse(raw) {
    const v = raw.trim();
    if (v.toLowerCase() === "off") return null;
    const fields = v.split(/\s+/).length;
    if (fields !== 5 && fields !== 6) throw new KindError(this.expects);
    try {
      new Cron(v, { paused: true }).stop();
    } catch {
      throw new KindError(this.expects);
    }
    return v;
  },
};
