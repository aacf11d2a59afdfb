/**
 * What every backup scenario starts from: one network and one S3 server on it, plus the product
 * image. Fixtures compose on it: `testbed.primary(bucket)` is a PrimaryContainer already on the
 * network; clusters (a primary and replicas sharing one bucket) add beside it. Makes no
 * assertions; `stop()` removes the S3 server and the network.
 */
import { Network, type StartedNetwork } from "testcontainers";
import { pinBridgeAddress } from "./engine.js";
import { productImage } from "./image.js";
import { PrimaryContainer } from "./primary.js";
import { S3Container, type BucketConfig, type StartedS3Container } from "./s3.js";

export class BackupTestbed {
  async start(): Promise<StartedBackupTestbed> {
    const image = await productImage();
    const network = await new Network().start();
    let s3: StartedS3Container | undefined;
    try {
      s3 = await new S3Container().withNetwork(network).start();
      // The bridge exists once its first member (the S3 server) has joined.
      await pinBridgeAddress(network.getName());
      return new StartedBackupTestbed(image, network, s3);
    } catch (e) {
      await s3?.stop().catch(() => undefined);
      await network.stop();
      throw e;
    }
  }
}

export class StartedBackupTestbed {
  constructor(
    readonly image: string,
    readonly network: StartedNetwork,
    readonly s3: StartedS3Container,
  ) {}

  /** A primary on this network, backing up to `bucket` (drop-in mode without one). */
  primary(bucket?: BucketConfig): PrimaryContainer {
    const container = new PrimaryContainer(this.image).withNetwork(this.network);
    return bucket ? container.withBucket(bucket) : container;
  }

  async stop(): Promise<void> {
    await this.s3.stop();
    await this.network.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
