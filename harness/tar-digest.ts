/**
 * Content digests of a tar stream (what `docker|podman cp <container>:<path> -` prints): one entry
 * per file, directory and link, so tests can prove that a container changed no byte, mode or
 * link under a path, not only that the same names exist.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** Path (relative to the archived directory, "" for itself) -> "<type> <mode> <size> <sha256 | link target>". */
export type TreeDigest = Record<string, string>;

const block = 512;

function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString("utf8");
}

function octal(header: Buffer, offset: number, length: number): number {
  const text = field(header, offset, length).trim();
  return text ? parseInt(text, 8) : 0;
}

/** Reads ustar, GNU long names (L, K) and pax headers (x, g): what Docker and Podman produce. */
export function digestTar(tar: Buffer): TreeDigest {
  const entries: TreeDigest = {};
  let offset = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let base: string | undefined;
  while (offset + block <= tar.length) {
    const header = tar.subarray(offset, offset + block);
    if (header.every((b) => b === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 48);
    const body = tar.subarray(offset + block, offset + block + size);
    offset += block + Math.ceil(size / block) * block;
    if (type === "L") {
      longName = body.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    if (type === "K") {
      longLink = body.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    if (type === "x" || type === "g") {
      for (const record of body.toString("utf8").split("\n")) {
        const m = record.match(/^\d+ (path|linkpath)=(.*)$/s);
        if (m && type === "x" && m[1] === "path") longName = m[2];
        else if (m && type === "x") longLink = m[2];
      }
      continue;
    }
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    const link = longLink ?? field(header, 157, 100);
    longName = longLink = undefined;
    const trimmed = name.replace(/^\.?\/+/, "").replace(/\/+$/, "");
    base ??= trimmed.split("/")[0];
    const rel = trimmed === base ? "" : trimmed.startsWith(`${base}/`) ? trimmed.slice(base.length + 1) : trimmed;
    const mode = (octal(header, 100, 8) & 0o7777).toString(8).padStart(4, "0");
    const owner = `${octal(header, 108, 8)}:${octal(header, 116, 8)}`;
    if (type === "0" || type === "7") entries[rel] = `file ${mode} ${owner} ${size} ${createHash("sha256").update(body).digest("hex")}`;
    else if (type === "5") entries[rel] = `dir ${mode} ${owner}`;
    else if (type === "2") entries[rel] = `symlink ${mode} ${owner} -> ${link}`;
    else if (type === "1") entries[rel] = `hardlink ${owner} -> ${link}`;
    else entries[rel] = `type-${type} ${mode} ${owner}`;
  }
  return entries;
}

/**
 * The same digest read from a directory on this machine (a volume's mount point, when the
 * engine runs here): no copy through the engine, which cost about 1.2 s of CPU for a 40 MB PGDATA.
 * Null when the directory does not exist.
 */
export function digestDirectory(root: string): TreeDigest | null {
  if (!existsSync(root)) return null;
  const entries: TreeDigest = {};
  const visit = (rel: string) => {
    const full = rel ? join(root, rel) : root;
    const st = lstatSync(full);
    const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
    const owner = `${st.uid}:${st.gid}`;
    if (st.isFile()) entries[rel] = `file ${mode} ${owner} ${st.size} ${createHash("sha256").update(readFileSync(full)).digest("hex")}`;
    else if (st.isSymbolicLink()) entries[rel] = `symlink ${mode} ${owner} -> ${readlinkSync(full)}`;
    else if (st.isDirectory()) {
      entries[rel] = `dir ${mode} ${owner}`;
      for (const name of readdirSync(full)) visit(rel ? `${rel}/${name}` : name);
    } else entries[rel] = `type-other ${mode} ${owner}`;
  };
  visit("");
  return entries;
}
