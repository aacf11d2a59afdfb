/** Facts pg_controldata reads from a stopped data directory: which cluster, which timeline. */
import { runOk } from "./exec.js";

export interface ControlData {
  systemId: string;
  timeline: number;
  /** "shut down", "in production", "shut down in recovery", ... */
  state: string;
}

export function parseControlData(text: string): ControlData {
  const field = (name: string) => text.match(new RegExp(`^${name}:\\s*(.+)$`, "m"))?.[1].trim();
  const systemId = field("Database system identifier");
  const timeline = field("Latest checkpoint's TimeLineID");
  if (!systemId || !timeline) throw new Error(`pg_controldata output not understood: ${text.slice(0, 200)}`);
  return { systemId, timeline: Number(timeline), state: field("Database cluster state") ?? "unknown" };
}

export async function controlData(pgdata: string): Promise<ControlData> {
  // LC_ALL=C: the field names are translated otherwise.
  return parseControlData((await runOk("pg_controldata", ["-D", pgdata], { env: { LC_ALL: "C", LANG: "C" } })).stdout);
}
