/**
 * `npm start`: the main job on any machine this project provisions. A local S3 server and a
 * primary that backs itself up to it; prints how to connect and the backup status, then keeps
 * running until Ctrl-C, which removes everything it started.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "./paths.js";
import { rootCertOf } from "./pg-client.js";
import { BackupTestbed } from "./testbed.js";

const started = Date.now();
console.log("Preparing the container engine and images (first run on a machine: about 2 minutes)...");
const bed = await new BackupTestbed().start();
const bucket = await bed.s3.createBucket("main-job");
const db = await bed.primary(bucket).withUsername("postgres").withPassword("postgres").withDatabase("app").start();

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping: removing the primary, the S3 server and the network...");
  await db.stop({ removeVolumes: true }).catch(() => {});
  await bed.stop().catch(() => {});
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());

const [full] = await db.waitForBackups("full", 1);
const caFile = join(projectRoot, ".run", "main-job-ca.crt");
mkdirSync(join(projectRoot, ".run"), { recursive: true });
writeFileSync(caFile, await rootCertOf(db));

console.log(`
postgres-pgbackrest is running (${bed.image}), ready in ${((Date.now() - started) / 1000).toFixed(0)} s.

  Connect:   psql "postgresql://postgres:postgres@localhost:${db.getPort()}/app?sslmode=verify-full&sslrootcert=${caFile}"
  Container: ${db.getId().slice(0, 12)}   (try: ${process.env.CONTAINERS_CONF ? "podman" : "docker"} exec ${db.getId().slice(0, 12)} postgres-ba info)
  S3 bucket: s3://${bucket.name}/pgbackrest (stanza ${db.stanza})

  First full backup: ${full.label}, ${(full.info.size / 1e6).toFixed(1)} MB of data, ${(full.info.repository.delta / 1e6).toFixed(1)} MB stored,
  taken in ${full.timestamp.stop - full.timestamp.start} s. WAL is archived at least every 60 s;
  incremental every 30 min, differential daily 02:00, full Sunday 03:00.

Press Ctrl-C to stop and remove everything.`);
setInterval(() => {}, 1 << 30);
