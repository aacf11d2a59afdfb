/**
 * `npm run bench:startup`: container start to ready (new database, restart), image size against
 * its base, and resident memory of the runtime (Node) beside PostgreSQL at idle. Ready means
 * the image's own health check passes (TCP on 127.0.0.1), polled every 100 ms.
 */
import { $ } from "zx";
import { baseImage } from "../harness/base-image.js";
import { containerEngine } from "../harness/engine.js";
import { productImage } from "../harness/image.js";
import { median } from "./stats.js";

const runs = Number(process.env.RUNS ?? 3);
const { cli } = await containerEngine();
const image = await productImage();
const base = await baseImage();
const sh = $({ quiet: true });

async function waitReady(id: string): Promise<void> {
  for (;;) {
    if ((await $({ quiet: true, nothrow: true })`${cli} exec ${id} docker-healthcheck.sh`).exitCode === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

const newDb: number[] = [];
const restart: number[] = [];
let rssKb = 0;
let postgresRssKb = 0;
for (let i = 0; i < runs; i++) {
  let id = "";
  newDb.push(
    await timed(async () => {
      id = (await sh`${cli} run -d -e POSTGRES_PASSWORD=bench ${image}`).stdout.trim();
      await waitReady(id);
    }),
  );
  await sh`${cli} stop -t 30 ${id}`;
  restart.push(
    await timed(async () => {
      await sh`${cli} start ${id}`;
      await waitReady(id);
    }),
  );
  if (i === 0) {
    await new Promise((r) => setTimeout(r, 5000));
    // PID 1 is tini; its child is the runtime (node); the postmaster is the runtime's child.
    const status = (
      await sh`${cli} exec ${id} sh -c ${"for p in /proc/[0-9]*; do echo \"$(cat $p/comm 2>/dev/null) $(awk '/^VmRSS/ {print $2}' $p/status 2>/dev/null)\"; done"}`
    ).stdout;
    for (const line of status.split("\n")) {
      const [comm, kb] = line.trim().split(" ");
      // Node names its main thread "MainThread" in /proc (older versions: "node").
      if (comm === "MainThread" || comm === "node") rssKb = Math.max(rssKb, Number(kb));
      if (comm === "postgres") postgresRssKb += Number(kb || 0);
    }
  }
  await sh`${cli} rm -f -v ${id}`;
}

const size = async (img: string) => Number((await sh`${cli} image inspect --format {{.Size}} ${img}`).stdout.trim()) / 1e6;
const [productMb, baseMb] = [await size(image), await size(base)];

console.log(`\nstartup (${runs} runs, median; drop-in mode; ${image} on ${base})`);
console.log("| measure | value |\n| --- | --- |");
console.log(`| new database: run to ready | ${median(newDb).toFixed(2)} s (${newDb.map((x) => x.toFixed(2)).join(", ")}) |`);
console.log(`| restart: start to ready | ${median(restart).toFixed(2)} s (${restart.map((x) => x.toFixed(2)).join(", ")}) |`);
console.log(
  `| image size | ${productMb.toFixed(0)} MB against ${baseMb.toFixed(0)} MB base (+${(productMb - baseMb).toFixed(0)} MB, x${(productMb / baseMb).toFixed(2)}) |`,
);
console.log(`| runtime (node) RSS at idle | ${(rssKb / 1024).toFixed(1)} MB (all postgres processes: ${(postgresRssKb / 1024).toFixed(1)} MB) |`);
