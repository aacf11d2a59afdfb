/**
 * Azure fixture: Azurite, Microsoft's Azure Storage emulator, serving its blob service over TLS
 * (test CA) on the test network, reachable by containers as https://azurite:10000 (path-style,
 * as emulators are addressed) and by the tests through a mapped port. Its one storage account has
 * a random key: Azurite checks shared-key signatures, so a wrong key is refused as on Azure.
 * A fresh blob container per test, with helpers to list and read its blobs.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Agent } from "node:https";
import { BlobServiceClient, newPipeline, StorageSharedKeyCredential } from "@azure/storage-blob";
import { build } from "esbuild";
import { GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import { NetworkServerBuilder } from "./network-server.js";
import { $ } from "zx";
import { copyFromPodman, imageExists } from "./base-image.js";
import { buildCommand } from "./engine.js";
import { contentHash } from "./image.js";
import { projectRoot } from "./paths.js";
import { type BucketConfig, s3ServerImage } from "./s3.js";
import { testCa, testServerCert } from "./test-ca.js";

const blobPort = 10000;
const caPathInContainers = "/etc/postgres-ba/azure-ca.crt";
const account = "pgbackrestci";

export class AzuriteContainer extends NetworkServerBuilder {
  constructor() {
    super("azurite");
  }

  async start(): Promise<StartedAzuriteContainer> {
    const network = this.joinedNetwork();
    const key = randomBytes(32).toString("base64");
    const cert = testServerCert([this.alias, "localhost"]);
    const container = await new GenericContainer(await azuriteImage())
      .withNetwork(network)
      .withNetworkAliases(this.alias)
      .withExposedPorts(blobPort)
      // Read by Azurite at start: one account, whose key every request must be signed with.
      .withEnvironment({ AZURITE_ACCOUNTS: `${account}:${key}` })
      .withCopyContentToContainer([
        { content: cert.cert, target: "/opt/azurite/tls.crt", mode: 0o644 },
        { content: cert.key, target: "/opt/azurite/tls.key", mode: 0o644 },
      ])
      .withWaitStrategy(Wait.forLogMessage("successfully listens on"))
      .withStartupTimeout(120_000)
      .start();
    return new StartedAzuriteContainer(container, key, this.alias);
  }
}

/** A repository container's settings, in the shape a primary takes (PrimaryContainer.withBucket). */
export type BlobContainerConfig = BucketConfig;

export class StartedAzuriteContainer {
  readonly client: BlobServiceClient;

  constructor(
    readonly container: StartedTestContainer,
    private readonly key: string,
    /** The host name product containers reach it by. */
    readonly alias: string,
  ) {
    // The SDK's requests go through an agent that trusts the test CA (set on each request by the first policy).
    const agent = new Agent({ ca: testCa().cert, keepAlive: true });
    const pipeline = newPipeline(new StorageSharedKeyCredential(account, key));
    pipeline.factories.unshift({
      create: (next) => ({
        sendRequest: (request) => {
          request.agent = agent;
          return next.sendRequest(request);
        },
      }),
    });
    this.client = new BlobServiceClient(`https://localhost:${container.getMappedPort(blobPort)}/${account}`, pipeline);
  }

  /** Creates a blob container (pgBackRest expects it to exist) and returns what a product container needs to use it. */
  async createContainer(prefix = "repo"): Promise<BlobContainerConfig> {
    const name = `${prefix}-${randomBytes(4).toString("hex")}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
    await this.client.getContainerClient(name).create();
    return {
      name,
      env: {
        REPO_TYPE: "azure",
        AZURE_ACCOUNT: account,
        AZURE_CONTAINER: name,
        AZURE_KEY: this.key,
        AZURE_ENDPOINT: `${this.alias}:${blobPort}`,
        AZURE_URI_STYLE: "path",
        AZURE_CA_FILE: caPathInContainers,
      },
      caFile: { content: testCa().cert, target: caPathInContainers },
    };
  }

  /** Every blob name in the container under prefix (all levels). */
  async listBlobs(container: string, prefix = ""): Promise<string[]> {
    const names: string[] = [];
    for await (const blob of this.client.getContainerClient(container).listBlobsFlat({ prefix })) names.push(blob.name);
    return names;
  }

  /** A blob's content. */
  async readBlob(container: string, name: string): Promise<Buffer> {
    return this.client.getContainerClient(container).getBlobClient(name).downloadToBuffer();
  }

  /** The account key, for tests that prove it never leaks. */
  get secret(): string {
    return this.key;
  }

  async stop(): Promise<void> {
    await this.container.stop({ removeVolumes: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * The Azurite image: its blob service bundled into one file (from harness/azurite's lock file,
 * installed only when the image is built) on the s3rver image, for its Node; built once per content.
 */
export async function azuriteImage(): Promise<string> {
  const nodeBase = await s3ServerImage();
  const source = join(projectRoot, "harness", "azurite");
  const tag = `postgres-pgbackrest-azurite:${contentHash(nodeBase, [join(source, "Dockerfile"), join(source, "package-lock.json"), join(projectRoot, "harness", "azurite.ts")])}`;
  if ((await imageExists(tag)) || (await copyFromPodman(tag))) return tag;
  // Installed apart from the build context, which gets only the bundle and the Dockerfile.
  const install = join(projectRoot, "image", "build", "azurite-install");
  const context = join(projectRoot, "image", "build", "azurite");
  const started = Date.now();
  mkdirSync(install, { recursive: true });
  mkdirSync(context, { recursive: true });
  copyFileSync(join(source, "package.json"), join(install, "package.json"));
  copyFileSync(join(source, "package-lock.json"), join(install, "package-lock.json"));
  await $({ quiet: true, cwd: install })`npm ci --ignore-scripts --no-audit --no-fund`;
  await build({
    entryPoints: [join(install, "node_modules", "azurite", "dist", "src", "blob", "main.js")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    outfile: join(context, "azurite-blob.cjs"),
    logLevel: "error",
    // Drivers of Azurite's SQL metadata store: never loaded with its default (LokiJS) store.
    external: ["mysql2", "tedious", "pg-hstore"],
  });
  copyFileSync(join(source, "Dockerfile"), join(context, "Dockerfile"));
  const builder = await buildCommand();
  await $({ quiet: true, env: builder.env })`${builder.command} ${builder.flags} --build-arg ${`NODE_BASE=${nodeBase}`} -t ${tag} ${context}`;
  console.log(`[azurite] image ${tag} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return tag;
}
