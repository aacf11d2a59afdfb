/**
 * The product image, built once per content: the tag carries a hash of image/, runtime/, the
 * lock file, this file (the bundle's options) and the base image, so a warm run reuses it and any change rebuilds it.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { $ } from "zx";
import { baseImage, imageExists } from "./base-image.js";
import { buildCommand } from "./engine.js";
import { dependencyPin, projectRoot } from "./paths.js";

export const imageName = "postgres-pgbackrest";
const imageDir = join(projectRoot, "image");
const runtimeDir = join(projectRoot, "runtime");
/** This module's own file (image.ts here, image.js in the installed package): its bundle options shape the image. */
const thisFile = fileURLToPath(import.meta.url);
export const bundlePath = join(imageDir, "build", "postgres-ba.cjs");
/** node-forge, in a file of its own beside the runtime's bundle (see forgeApart). */
const forgeFile = "node-forge.cjs";

/**
 * node-forge is 600 KB of the runtime's source, and a script's source stays in memory for as long
 * as its functions may be compiled: apart, it is read only when a certificate is made
 * (runtime/lib/certificates.ts is imported on demand), about 1 MB less resident (issue 13's P5).
 */
const forgeApart: Plugin = {
  name: "node-forge apart",
  setup(b) {
    b.onResolve({ filter: /^node-forge$/ }, () => ({ path: `./${forgeFile}`, external: true }));
  },
};

/**
 * Bundles the runtime into the files the image runs, as CommonJS: Node then skips its ES module
 * loader, and the resident runtime is about 5 MB smaller (issue 13's P5; README).
 */
export async function bundleRuntime(): Promise<string> {
  await bundle(join(runtimeDir, "main.ts"), bundlePath, "cjs", [forgeApart]);
  await bundle(createRequire(thisFile).resolve("node-forge"), join(dirname(bundlePath), forgeFile), "cjs");
  return bundlePath;
}

/**
 * One file (an ES module unless `format` says otherwise) for the Node inside an image, holding
 * everything but what `plugins` mark external.
 */
export async function bundle(entry: string, outfile: string, format: "esm" | "cjs" = "esm", plugins: Plugin[] = []): Promise<void> {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format,
    plugins,
    // Debian bookworm-based images ship Node 18.
    target: "node18",
    outfile,
    legalComments: "none",
    logLevel: "warning",
    // An ES module has no require(), which CommonJS dependencies call for Node built-ins.
    banner: format === "esm" ? { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" } : {},
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "build" || e.name === "node_modules" ? [] : filesUnder(p);
    return e.name.endsWith(".test.ts") ? [] : [p];
  });
}

export function contentHash(seed: string, files: string[]): string {
  const hash = createHash("sha256").update(seed);
  for (const file of [...files].sort()) {
    hash
      .update(relative(projectRoot, file))
      .update(String(statSync(file).mode & 0o111))
      .update(readFileSync(file));
  }
  return hash.digest("hex").slice(0, 12);
}

let cached: Promise<string> | undefined;
let cachedHa: Promise<string> | undefined;

/** Resolves the image reference to run, building it only when its content changed. */
export function productImage(): Promise<string> {
  cached ??= (async () => {
    if (process.env.POSTGRES_BA_IMAGE) return process.env.POSTGRES_BA_IMAGE;
    const base = await baseImage();
    // This file too: the bundle's options (format, target) are part of what the image runs.
    const tag = `${imageName}:${contentHash(base, [...filesUnder(imageDir), ...filesUnder(runtimeDir), dependencyPin, thisFile])}`;
    if (await imageExists(tag)) return tag;
    await buildTarget(base, [tag, `${imageName}:latest`]);
    return tag;
  })();
  return cached;
}

/**
 * Builds image/ on `base` under `tags`: the Dockerfile's default target, or `target`. The bundle
 * is made first, so the image holds the runtime the tag's content hash covers (a warm product
 * image may predate the file on disk).
 */
async function buildTarget(base: string, tags: string[], target?: string): Promise<void> {
  const started = Date.now();
  await bundleRuntime();
  const build = await buildCommand();
  const targetFlags = target ? ["--target", target] : [];
  const tagFlags = tags.flatMap((t) => ["-t", t]);
  await $({ quiet: true, env: build.env })`${build.command} ${build.flags} ${targetFlags} --build-arg ${`BASE_IMAGE=${base}`} ${tagFlags} ${imageDir}`;
  console.log(`[image] built ${tags[0]}${target ? ` (target ${target})` : ""} on ${base} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * The high-availability variant (the Dockerfile's `ha` target: Patroni and etcd on top of the
 * product), built on first use from the same content, so only the scenarios that need it pay for
 * it. POSTGRES_BA_HA_IMAGE names an image built elsewhere.
 */
export function haImage(): Promise<string> {
  cachedHa ??= (async () => {
    if (process.env.POSTGRES_BA_HA_IMAGE) return process.env.POSTGRES_BA_HA_IMAGE;
    const product = await productImage();
    const tag = `${product}-ha`;
    if (await imageExists(tag)) return tag;
    await buildTarget(await baseImage(), [tag], "ha");
    return tag;
  })();
  return cachedHa;
}
