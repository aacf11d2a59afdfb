/** `npm run build:runtime`: bundle the runtime for a manual `docker build image/`. */
import { bundleRuntime } from "./image.js";

console.log(`bundled ${await bundleRuntime()}`);
