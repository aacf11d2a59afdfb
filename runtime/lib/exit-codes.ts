/** Exit codes of the entrypoint and the postgres-ba command, documented in the README. */
export const exitCodes = {
  /** An environment variable is invalid or a required one is missing (EX_CONFIG). */
  config: 78,
  /** The data directory cannot be used as it is (old layout, permissions, damaged TLS files). */
  dataDirectory: 73,
  /** The repository cannot provide what was asked (no backup, wrong keys, unreachable S3, failed restore). */
  repository: 69,
  /** A replica cannot use PRIMARY_HOST (unreachable, wrong password, certificate not from the cluster's CA), or an HA member's store does not answer (EX_NOHOST). */
  primary: 68,
  /** `postgres-ba status` found a problem (old backup, failing archiving, unreachable repository). */
  probe: 2,
  /** A command that failed for another reason (pgBackRest, PostgreSQL). */
  failure: 1,
  /** Wrong usage of the postgres-ba command. */
  usage: 64,
} as const;
