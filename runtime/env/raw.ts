/** The raw environment, and the one check every raw value gets (no control characters). */
export type RawEnv = Record<string, string | undefined>;

/**
 * The first control character in a value (newline, tab, escape, DEL, C1 controls, Unicode line
 * and paragraph separators), described, or undefined. `allowSeparators` lets tab, newline and
 * carriage return through (word separators in POSTGRES_INITDB_ARGS).
 */
export function controlCharacter(value: string, allowSeparators = false): string | undefined {
  const m = value.match(allowSeparators ? /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/ : /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  if (!m) return undefined;
  const names: Record<string, string> = { "\n": "a newline", "\r": "a carriage return", "\t": "a tab", "\u001b": "an escape character" };
  const code = m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
  return `${names[m[0]] ?? `the control character U+${code}`} at position ${m.index! + 1}`;
}
