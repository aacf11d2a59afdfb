/**
 * Prints the DOCKER_HOST of this project's engine, provisioning it first (Podman's API service,
 * or dockerd under POSTGRES_BA_ENGINE=docker): for scripts that hand the engine to other tools,
 * such as examples/downstream/run.sh.
 */
import { containerEngine } from "./engine.js";

console.log((await containerEngine()).dockerHost);
