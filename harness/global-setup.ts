/**
 * Runs once before the scenario workers: container engine, base image, product image and S3
 * server image. Workers inherit the exported environment, so they neither provision nor build.
 */
import { containerEngine } from "./engine.js";
import { productImage } from "./image.js";
import { s3Backend, s3ServerImage } from "./s3.js";

export default async function setup(): Promise<void> {
  const started = Date.now();
  const engine = await containerEngine();
  process.env.POSTGRES_BA_IMAGE = await productImage();
  process.env.POSTGRES_BA_S3 = await s3Backend();
  if (process.env.POSTGRES_BA_S3 === "s3rver") process.env.POSTGRES_BA_S3_IMAGE = await s3ServerImage();
  console.log(
    `[setup] ${engine.kind} at ${engine.dockerHost}; image ${process.env.POSTGRES_BA_IMAGE}; S3 server ${process.env.POSTGRES_BA_S3}; ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}
