/**
 * S3 fixture: a real S3 server over TLS (test CA) on the test network, reachable by containers
 * as https://s3:9000 (another host name with withNetworkAlias) and by the tests through a mapped
 * port. MinIO (@testcontainers/minio) where its image can be pulled, otherwise s3rver in a small
 * container of its own; POSTGRES_BA_S3=minio or s3rver forces one. withBackend("rgw") starts
 * Ceph's RADOS Gateway instead: it checks signatures (s3rver accepts any secret) and answers
 * ranged reads with the wrong bytes, so it proves what a real, imperfect store does to the product.
 * A fresh bucket per test, with a helper to list its objects.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync } from "node:fs";
import { Agent } from "node:https";
import { join } from "node:path";
import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client, type ListObjectsV2CommandOutput } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { GenericContainer, Wait, type StartedNetwork, type StartedTestContainer } from "testcontainers";
import { MinioContainer } from "@testcontainers/minio";
import { $ } from "zx";
import type { PemPair } from "../runtime/lib/certificates.js";
import { copyFromPodman, ensureStandInRootfs, imageExists, standInRootfsImage } from "./base-image.js";
import { buildCommand, containerEngine } from "./engine.js";
import { bundle, contentHash } from "./image.js";
import { NetworkServerBuilder } from "./network-server.js";
import { dependencyPin, projectRoot } from "./paths.js";
import { pollUntil } from "./poll.js";
import { testCa, testServerCert } from "./test-ca.js";

// The AWS SDK warns on every run that its releases after January 2027 will need Node 22; the
// lock file pins a release that supports the Node 20.19+ this package declares, so the notice
// says nothing about this run. Move to Node 22 before upgrading the SDK past that date.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const s3Port = 9000;
const caPathInContainers = "/etc/postgres-ba/s3-ca.crt";

/** What a product container needs to reach one bucket. */
export interface BucketConfig {
  name: string;
  /** S3_* variables (keys included) for the product container. */
  env: Record<string, string>;
  /** The CA to copy into the product container at env.S3_CA_FILE. */
  caFile: { content: string; target: string };
}

export class S3Container extends NetworkServerBuilder {
  private backend?: S3Backend | "rgw";

  constructor() {
    super("s3");
  }

  /** A server other than the suite's (POSTGRES_BA_S3 or automatic): rgw, minio or s3rver. */
  withBackend(backend: S3Backend | "rgw"): this {
    this.backend = backend;
    return this;
  }

  async start(): Promise<StartedS3Container> {
    const network = this.joinedNetwork();
    const accessKey = `test-${randomBytes(6).toString("hex")}`;
    const secretKey = randomBytes(24).toString("base64url");
    const server: ServerSettings = { network, alias: this.alias, accessKey, secretKey, cert: testServerCert([this.alias, "localhost"]) };
    const start = { minio: startMinio, s3rver: startS3rver, rgw: startRgw }[this.backend ?? (await s3Backend())];
    return new StartedS3Container(await start(server), accessKey, secretKey, network, this.alias);
  }
}

interface ServerSettings {
  network: StartedNetwork;
  alias: string;
  accessKey: string;
  secretKey: string;
  cert: PemPair;
}

export class StartedS3Container {
  readonly client: S3Client;

  constructor(
    readonly container: StartedTestContainer,
    private readonly accessKey: string,
    private readonly secretKey: string,
    private readonly network: StartedNetwork,
    /** The host name product containers reach it by. */
    readonly alias: string,
  ) {
    this.client = new S3Client({
      endpoint: `https://localhost:${container.getMappedPort(s3Port)}`,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: testCa().cert }) }),
    });
  }

  /** Creates a new bucket and returns what a product container needs to use it. */
  async createBucket(prefix = "bucket"): Promise<BucketConfig> {
    const name = `${prefix}-${randomBytes(4).toString("hex")}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
    await this.client.send(new CreateBucketCommand({ Bucket: name }));
    return {
      name,
      env: {
        S3_BUCKET: name,
        S3_ENDPOINT: this.alias,
        S3_PORT: String(s3Port),
        S3_URI_STYLE: "path",
        S3_REGION: "us-east-1",
        S3_ACCESS_KEY: this.accessKey,
        S3_SECRET_KEY: this.secretKey,
        S3_CA_FILE: caPathInContainers,
      },
      caFile: { content: testCa().cert, target: caPathInContainers },
    };
  }

  /** Every object key in the bucket under prefix (all levels). */
  async listObjects(bucket: string, prefix = ""): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  /** Removes objects (fault injection: a file the archive does not hold yet, or lost). */
  async deleteObjects(bucket: string, keys: string[]): Promise<void> {
    await this.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  }

  /** Every object in the bucket as key -> "<ETag> <size>": equal before and after means no object was written, replaced or removed. */
  async objectDigests(bucket: string): Promise<Record<string, string>> {
    const objects: Record<string, string> = {};
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) objects[o.Key] = `${o.ETag} ${o.Size}`;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  /** Freezes the S3 server (fault injection: requests hang as on a dead network path). */
  async pause(): Promise<void> {
    const { cli } = await containerEngine();
    await $({ quiet: true })`${cli} pause ${this.container.getId()}`;
  }

  async unpause(): Promise<void> {
    const { cli } = await containerEngine();
    await $({ quiet: true })`${cli} unpause ${this.container.getId()}`;
  }

  /**
   * Takes the server off the test network: requests fail at once, as when S3 is down. Returns once
   * no member of the network resolves the alias any more (see networkDnsSettled).
   */
  async isolate(): Promise<void> {
    await this.setConnected(false);
  }

  /** Puts it back under its alias, and returns once every member of the network resolves it again. */
  async reconnect(): Promise<void> {
    await this.setConnected(true);
  }

  private async setConnected(connected: boolean): Promise<void> {
    const { cli } = await containerEngine();
    const network = this.network.getName();
    const serverId = this.container.getId();
    const change = connected ? ["connect", "--alias", this.alias, network, serverId] : ["disconnect", network, serverId];
    await $({ quiet: true })`${cli} network ${change}`;
    await networkDnsSettled({ network, alias: this.alias, serverId, resolves: connected });
  }

  /** The secret key, for tests that prove it never leaks. */
  get secret(): string {
    return this.secretKey;
  }

  async stop(): Promise<void> {
    this.client.destroy();
    await this.container.stop({ removeVolumes: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export type S3Backend = "minio" | "s3rver";
export const minioImage = process.env.POSTGRES_BA_MINIO_IMAGE ?? "docker.io/minio/minio:latest";
let backend: Promise<S3Backend> | undefined;

/** POSTGRES_BA_S3 when set, else MinIO if its image is here or can be pulled (fails fast offline). */
export function s3Backend(): Promise<S3Backend> {
  backend ??= (async () => {
    const wanted = process.env.POSTGRES_BA_S3;
    if (wanted === "minio" || wanted === "s3rver") return wanted;
    if (wanted) throw new Error(`POSTGRES_BA_S3=${JSON.stringify(wanted)}: expected minio or s3rver (or unset for automatic)`);
    const { cli } = await containerEngine();
    if (await imageExists(minioImage)) return "minio";
    return (await $({ nothrow: true, quiet: true })`${cli} pull ${minioImage}`.timeout("300s")).exitCode === 0 ? "minio" : "s3rver";
  })();
  return backend;
}

/** MinIO over TLS: it serves HTTPS when its certs directory holds public.crt and private.key. */
async function startMinio({ network, alias, accessKey, secretKey, cert }: ServerSettings): Promise<StartedTestContainer> {
  return new MinioContainer(minioImage)
    .withUsername(accessKey)
    .withPassword(secretKey)
    .withNetwork(network)
    .withNetworkAliases(alias)
    .withCopyContentToContainer([
      { content: cert.cert, target: "/certs/public.crt", mode: 0o644 },
      { content: cert.key, target: "/certs/private.key", mode: 0o600 },
    ])
    .withCommand(["server", "--certs-dir", "/certs", "--console-address", ":9001", "/data"])
    .withWaitStrategy(Wait.forHttp("/minio/health/live", s3Port).usingTls().allowInsecure())
    .withStartupTimeout(60_000)
    .start();
}

/** A server image that takes its keys, port and certificate from the environment (the s3rver and RGW images). */
function keyedServer(image: string, { network, alias, accessKey, secretKey, cert }: ServerSettings, certDir: string): GenericContainer {
  return new GenericContainer(image)
    .withNetwork(network)
    .withNetworkAliases(alias)
    .withExposedPorts(s3Port)
    .withEnvironment({
      S3_ACCESS_KEY: accessKey,
      S3_SECRET_KEY: secretKey,
      S3_PORT: String(s3Port),
      TLS_CERT: `${certDir}/tls.crt`,
      TLS_KEY: `${certDir}/tls.key`,
    })
    .withCopyContentToContainer([
      { content: cert.cert, target: `${certDir}/tls.crt`, mode: 0o644 },
      { content: cert.key, target: `${certDir}/tls.key`, mode: 0o644 },
    ])
    .withStartupTimeout(120_000);
}

async function startS3rver(server: ServerSettings): Promise<StartedTestContainer> {
  return keyedServer(await s3ServerImage(), server, "/opt/s3")
    .withWaitStrategy(Wait.forLogMessage("s3-server: listening"))
    .start();
}

/** The s3rver image: the bundled server on a plain Node image (built once per content). */
export async function s3ServerImage(): Promise<string> {
  if (process.env.POSTGRES_BA_S3_IMAGE) return process.env.POSTGRES_BA_S3_IMAGE;
  const nodeBase = (await imageExists(standInRootfsImage)) || (await copyFromPodman(standInRootfsImage)) ? standInRootfsImage : "node:22-alpine";
  const source = join(projectRoot, "harness", "s3");
  const tag = `postgres-pgbackrest-s3rver:${contentHash(nodeBase, [join(source, "server.ts"), join(source, "Dockerfile"), dependencyPin])}`;
  if ((await imageExists(tag)) || (await copyFromPodman(tag))) return tag;
  const context = join(projectRoot, "image", "build", "s3");
  await bundle(join(source, "server.ts"), join(context, "s3-server.mjs"));
  copyFileSync(join(source, "Dockerfile"), join(context, "Dockerfile"));
  const build = await buildCommand();
  await $({ quiet: true, env: build.env })`${build.command} ${build.flags} --build-arg ${`NODE_BASE=${nodeBase}`} -t ${tag} ${context}`;
  return tag;
}

/** RGW on its dbstore backend (SQLite, no Ceph cluster), serving TLS with its beast frontend. */
async function startRgw(server: ServerSettings): Promise<StartedTestContainer> {
  const anyAnswer = Wait.forHttp("/", s3Port)
    .usingTls()
    .allowInsecure()
    .forStatusCodeMatching(() => true);
  // radosgw creates its dbstore and realm at first start: past 120 s once on a loaded two-core run.
  return keyedServer(await rgwImage(), server, "/opt/rgw")
    .withWaitStrategy(anyAnswer)
    .withStartupTimeout(300_000)
    .start();
}

/** The RGW image: radosgw from Debian's archive on the stand-in's root file system (built once per content). */
export async function rgwImage(): Promise<string> {
  const source = join(projectRoot, "harness", "rgw");
  const tag = `postgres-pgbackrest-rgw:${contentHash(standInRootfsImage, [join(source, "Dockerfile"), join(source, "rgw-start.sh")])}`;
  if ((await imageExists(tag)) || (await copyFromPodman(tag))) return tag;
  await ensureStandInRootfs();
  const build = await buildCommand();
  const started = Date.now();
  await $({ quiet: true, env: build.env })`${build.command} ${build.flags} --build-arg ${`DEBIAN_BASE=${standInRootfsImage}`} -t ${tag} ${source}`;
  console.log(`[rgw] image ${tag} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return tag;
}

/**
 * Waits until every container on the network (but the S3 server itself) resolves the alias as
 * `resolves` says: a test that goes on before then measures the engine, not the product.
 *
 * On Podman, before the testbed fixed its bridge's hardware address (pinBridgeAddress), a change to
 * the network left members' lookups unanswered for 35-55 s; on a network without that fix it
 * still can, and this wait absorbs it and says how long it took.
 *
 * Each member is asked through `exec` (a new container would change the network again), all at
 * once: in CI, with one member asked, it answered at once and the backup's lookups then stalled
 * 42 s. "Not found" counts only when it came at once: getent says the same after a lookup that
 * timed out. Nothing to wait for on Docker Engine (its DNS changes without that pause), without
 * the podman command, or in a member without getent.
 */
async function networkDnsSettled({
  network,
  alias,
  serverId,
  resolves,
}: {
  network: string;
  alias: string;
  serverId: string;
  resolves: boolean;
}): Promise<void> {
  const { kind, cli } = await containerEngine();
  if (kind !== "podman" || cli !== "podman") return;
  const sh = $({ quiet: true, nothrow: true });
  const members = (await sh`podman ps -q --no-trunc --filter network=${network} --filter status=running`).stdout
    .split("\n")
    .filter((id) => id && id !== serverId);
  const started = Date.now();
  const what = `${alias} ${resolves ? "resolving" : "gone"} on network ${network}`;
  /** Whether this member sees the change: true also when it cannot say (no getent, gone). */
  const settledIn = async (member: string) => {
    const asked = Date.now();
    const { exitCode } = await sh`podman exec ${member} getent hosts ${alias}`;
    if (exitCode === 0) return resolves;
    if (exitCode === 2) return !resolves && Date.now() - asked < 2000;
    return true;
  };
  await pollUntil(what, async () => (await Promise.all(members.map(settledIn))).every(Boolean), { timeoutMs: 90_000, intervalMs: 500 });
  // The stall this waits out, when there was one: a run's log shows where its time went.
  const waitedMs = Date.now() - started;
  if (waitedMs > 5000) console.log(`[s3] ${(waitedMs / 1000).toFixed(1)} s until ${what}`);
}
