/**
 * Code-point order, for machine names (variable names, WAL file names). Not localeCompare: its
 * first call loads ICU's collation data, about 3 MB that the resident runtime would then keep
 * (issue 13's P5, measured in the image).
 */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
