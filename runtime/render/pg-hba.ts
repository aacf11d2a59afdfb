/**
 * The block of pg_hba.conf this image owns, between markers, replaced in place at every start so
 * lines the user added outside it are kept.
 */
const begin = "# BEGIN postgres-ba (managed: replication only over TLS)";
const end = "# END postgres-ba";

export function renderHbaBlock(): string {
  return [begin, "hostssl replication all all scram-sha-256", "hostnossl replication all all reject", end].join("\n");
}

/** The official image's line, appended once at initialization. */
export function officialHostLine(method: string): string {
  const warning = method === "trust" ? "# warning trust is enabled for all connections\n# see https://www.postgresql.org/docs/18/auth-trust.html\n" : "";
  return `\n${warning}host all all all ${method}\n`;
}

export function withHbaBlock(hba: string): string {
  const block = renderHbaBlock();
  const start = hba.indexOf(begin);
  const stop = hba.indexOf(end);
  if (start >= 0 && stop > start) return hba.slice(0, start) + block + hba.slice(stop + end.length);
  const sep = hba.endsWith("\n") || hba === "" ? "" : "\n";
  return `${hba}${sep}\n${block}\n`;
}
