declare module "s3rver/lib/models/account.js" {
  const Account: {
    DUMMY_ACCOUNT: {
      createKeyPair(accessKeyId: string, secretAccessKey: string): void;
      revokeAccessKey(accessKeyId: string): void;
    };
  };
  export default Account;
}

declare module "s3rver" {
  interface S3rverOptions {
    address?: string;
    port?: number;
    directory?: string;
    vhostBuckets?: boolean;
    silent?: boolean;
    key?: Buffer;
    cert?: Buffer;
    configureBuckets?: Array<{ name: string; configs: Buffer[] }>;
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<unknown>;
    close(): Promise<void>;
  }
}

declare module "s3rver/lib/stores/filesystem.js" {
  export interface ListOptions {
    delimiter?: string;
    prefix?: string;
    startAfter?: string;
    maxKeys?: number;
  }
  export interface ListResult {
    objects: Array<{ key: string }>;
    commonPrefixes: string[];
    isTruncated: boolean;
  }
  export default class FilesystemStore {
    listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
  }
}
