/**
 * Readiness is decided in one place, the runtime, and published as a file the health check
 * requires: the server accepts connections and, after a restore, has been promoted (checked
 * with pg_is_in_recovery(), since recovery.signal disappears a moment before the server becomes
 * writable). Cleared at every start; it lives outside the data volume.
 */
import { rmSync, writeFileSync } from "node:fs";

export const readyMarker = "/var/run/postgresql/.postgres-ba-ready";

export function clearReady(): void {
  rmSync(readyMarker, { force: true });
}

export function markReady(description: string): void {
  writeFileSync(readyMarker, `${description}\n`);
}

/**
 * A full collection once the server is ready: the resident runtime otherwise keeps the startup's
 * garbage (the bundle's module setup, rendered configuration, step results) until V8 next collects,
 * which with nothing allocating can be minutes (issue 13's P5). The "last-resort" kind also
 * shrinks V8's heap (about 3 MB here; a plain gc() alone left 2 MB of that); the V8 of Node 18 and
 * 20 reads that options object as a minor collection, so a plain gc() goes first. A no-op without
 * --expose-gc.
 */
export function releaseStartupGarbage(): void {
  const gc = (globalThis as { gc?: (options?: object) => void }).gc;
  gc?.();
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
}
