/** The harness's public API: fixtures downstream teams import. */
export { containerEngine, type ContainerEngine } from "./engine.js";
export { baseImage, officialBaseImage } from "./base-image.js";
export { haImage, productImage, imageName } from "./image.js";
export { S3Container, StartedS3Container, type BucketConfig } from "./s3.js";
export { AzuriteContainer, StartedAzuriteContainer, type BlobContainerConfig } from "./azurite.js";
export {
  PrimaryContainer,
  RestoredCloneContainer,
  StartedPrimaryContainer,
  copyVolume,
  removeVolume,
  caDir,
  type BackupInfo,
  type ReplicationStatus,
  type RestoreTarget,
  type StanzaInfo,
  noSchedule,
  type Schedule,
} from "./primary.js";
export { ReplicaContainer, StartedReplicaContainer } from "./replica.js";
export { ClusterContainer, StartedCluster, clusterCredentials } from "./cluster.js";
export { HaClusterContainer, StartedHaCluster, haCredentials } from "./ha-cluster.js";
export { pollUntil } from "./poll.js";
export { containerLogText, DetachedContainer, OneShotContainer, type OneShotResult } from "./one-shot.js";
export { connectVerified, queryVerified, rootCertOf, type Credentials } from "./pg-client.js";
export { BackupTestbed, StartedBackupTestbed } from "./testbed.js";
export { ComposeStack, StartedComposeStack, type ComposeResult } from "./compose.js";
