/**
 * The base image the product is built FROM: the official postgres:18-alpine where it can be
 * pulled, otherwise a stand-in PostgreSQL 18 image built from Debian sid with debootstrap.
 * The stand-in is built once per machine and reused (tagged by the hash of its Dockerfile).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import { buildCommand, containerEngine, podmanConf } from "./engine.js";
import { projectRoot } from "./paths.js";

export const officialBaseImage = "postgres:18-alpine";
/** The bare Debian sid root file system the stand-in is built on (also a base for test images). */
export const standInRootfsImage = "postgres-pgbackrest-stand-in-rootfs:sid";
const standInDir = join(projectRoot, "harness", "stand-in-base");

/** The stand-in's tag changes whenever its recipe does, so an old one is never reused by mistake. */
export function standInBaseTag(): string {
  const hash = createHash("sha256")
    .update(readFileSync(join(standInDir, "Dockerfile")))
    .digest("hex")
    .slice(0, 12);
  return `postgres-pgbackrest-stand-in-base:18-sid-${hash}`;
}

/**
 * Resolves the base image to build on. POSTGRES_BA_BASE_IMAGE overrides everything (any
 * PostgreSQL 18 image the engine already has or can pull).
 */
export async function baseImage(): Promise<string> {
  const { cli } = await containerEngine();
  const wanted = process.env.POSTGRES_BA_BASE_IMAGE;
  if (wanted) return wanted;
  if (await imageExists(officialBaseImage)) return officialBaseImage;
  const pulled = await $({ nothrow: true, quiet: true })`${cli} pull ${officialBaseImage}`.timeout("120s");
  if (pulled.exitCode === 0) return officialBaseImage;
  const tag = standInBaseTag();
  if (!(await imageExists(tag)) && !(await copyFromPodman(tag))) await buildStandInBase(tag);
  return tag;
}

/**
 * On Docker Engine, an image Podman already has on this machine (the stand-in base and its root
 * file system, built by a Podman run) moves over by save and load in seconds instead of a new
 * debootstrap. Podman names local images localhost/<name>, so the loaded image is tagged again.
 */
export async function copyFromPodman(name: string): Promise<boolean> {
  const { cli } = await containerEngine();
  if (cli !== "docker") return false;
  const podman = $({ nothrow: true, quiet: true, env: { ...process.env, CONTAINERS_CONF: podmanConf } });
  if ((await podman`podman image exists ${name}`).exitCode !== 0) return false;
  const started = Date.now();
  await $({ quiet: true })`podman save --format docker-archive ${name} | ${cli} load`;
  if (!(await imageExists(name))) await $({ quiet: true })`${cli} tag ${`localhost/${name}`} ${name}`;
  console.log(`[base-image] ${name} copied from Podman in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

export async function imageExists(name: string): Promise<boolean> {
  const { cli } = await containerEngine();
  return (await $({ nothrow: true, quiet: true })`${cli} image inspect ${name}`).exitCode === 0;
}

/** debootstrap sid (~25 s) → import as a root file system image → install PostgreSQL 18 in a build. */
async function buildStandInBase(tag: string): Promise<void> {
  const { cli } = await containerEngine();
  if (cli !== "podman" && !existsSync("/usr/sbin/debootstrap")) {
    throw new Error(`Cannot pull ${officialBaseImage} and cannot build a stand-in (debootstrap missing): pull the base image or set POSTGRES_BA_BASE_IMAGE.`);
  }
  console.log(`[base-image] ${officialBaseImage} cannot be pulled here; building the stand-in ${tag} from Debian sid`);
  await ensureStandInRootfs();
  const build = await buildCommand();
  await $({ quiet: true, env: build.env })`${build.command} ${build.flags} --build-arg ROOTFS_IMAGE=${standInRootfsImage} -t ${tag} ${standInDir}`;
}

/** The bare Debian sid root file system: debootstrap (~25 s) once per machine, or copied from Podman. */
export async function ensureStandInRootfs(): Promise<void> {
  if ((await imageExists(standInRootfsImage)) || (await copyFromPodman(standInRootfsImage))) return;
  const { cli } = await containerEngine();
  const dir = mkdtempSync("/var/tmp/postgres-ba-rootfs-");
  try {
    await $({ quiet: true })`debootstrap --variant=minbase sid ${dir} ${debianMirror()}`;
    await $({ quiet: true })`tar -C ${dir} -c . | ${cli} import - ${standInRootfsImage}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Debian mirror this machine already uses (the only archive reachable here). */
function debianMirror(): string {
  for (const file of ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    const match = text.match(/^URIs:\s*(\S+)/m) ?? text.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/m);
    if (match) return match[1];
  }
  return "http://deb.debian.org/debian";
}
