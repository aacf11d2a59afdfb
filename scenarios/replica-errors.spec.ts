import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { ClusterContainer, OneShotContainer, caDir, type StartedCluster } from "../harness/index.js";
import { testCa } from "../harness/test-ca.js";

const pgdata = "/var/lib/postgresql/18/docker";
const sslDir = "/var/lib/postgresql/ssl";

interface FailedReplica {
  what: string;
  env: (cluster: StartedCluster, primaryIp: string) => Record<string, string>;
  /** Which CA the replica sees: the cluster's, another one, or none. */
  ca: "cluster" | "foreign" | "none";
  exitCode: number;
  line: RegExp;
}

const cases: FailedReplica[] = [
  {
    what: "a replica without PRIMARY_HOST",
    ca: "cluster",
    exitCode: 78,
    env: (c) => ({ PG_MODE: "replica", REPLICATION_PASSWORD: c.replicationPassword }),
    line: /configuration error: PRIMARY_HOST: is required because PG_MODE=replica.* Fix: set PRIMARY_HOST/,
  },
  {
    what: "a replica asked to restore from backup",
    ca: "cluster",
    exitCode: 78,
    env: (c) => ({ PG_MODE: "replica", PRIMARY_HOST: "primary", REPLICATION_PASSWORD: c.replicationPassword, RESTORE_FROM_BACKUP: "true" }),
    line: /configuration error: RESTORE_FROM_BACKUP=true with PG_MODE=replica: a container either restores a primary from S3 or clones a replica, not both/,
  },
  {
    what: "a replica without REPLICATION_PASSWORD",
    ca: "cluster",
    exitCode: 78,
    env: () => ({ PG_MODE: "replica", PRIMARY_HOST: "primary" }),
    line: /configuration error: REPLICATION_PASSWORD: is required because PG_MODE=replica: the replica connects to primary as replicator/,
  },
  {
    what: "an unreachable primary",
    ca: "cluster",
    exitCode: 68,
    env: (c) => ({ PG_MODE: "replica", PRIMARY_HOST: "no-such-primary", PRIMARY_WAIT_SECONDS: "5", REPLICATION_PASSWORD: c.replicationPassword }),
    line: /PRIMARY_HOST no-such-primary:5432 did not accept connections within PRIMARY_WAIT_SECONDS=5 \(\d+ attempts; last: .*\)\. Fix: check PRIMARY_HOST and PRIMARY_PORT/,
  },
  {
    what: "a wrong replication password",
    ca: "cluster",
    exitCode: 68,
    env: () => ({ PG_MODE: "replica", PRIMARY_HOST: "primary", REPLICATION_PASSWORD: "not-the-password" }),
    line: /PRIMARY_HOST primary:5432 refused the password of replicator \(.*password authentication failed.*\)\. Fix: set REPLICATION_PASSWORD to the value the primary was started with/,
  },
  {
    what: "a CA that did not sign the primary's certificate",
    ca: "foreign",
    exitCode: 68,
    env: (c) => ({ PG_MODE: "replica", PRIMARY_HOST: "primary", REPLICATION_PASSWORD: c.replicationPassword }),
    line: /the certificate of PRIMARY_HOST primary:5432 is not trusted with \/var\/lib\/postgresql\/ca\/ca\.crt \(.*certificate verify failed.*\)\. Fix: mount the primary's CA_DIR volume/,
  },
  {
    what: "no CA at all",
    ca: "none",
    exitCode: 68,
    env: (c) => ({ PG_MODE: "replica", PRIMARY_HOST: "primary", REPLICATION_PASSWORD: c.replicationPassword }),
    line: /\/var\/lib\/postgresql\/ca\/ca\.crt does not exist: a replica verifies PRIMARY_HOST's certificate with the cluster's CA\. Fix: mount the primary's CA_DIR volume/,
  },
  {
    what: "verify-full against a name the certificate does not hold",
    ca: "cluster",
    exitCode: 68,
    env: (c, ip) => ({ PG_MODE: "replica", PRIMARY_HOST: ip, REPLICATION_SSLMODE: "verify-full", REPLICATION_PASSWORD: c.replicationPassword }),
    line: /the certificate of PRIMARY_HOST [\d.]+:5432 is not trusted .*does not match host name.* or use REPLICATION_SSLMODE=verify-ca/,
  },
];

describe("@replica-errors a replica that cannot be made fails with one clear line and writes nothing", () => {
  let cluster: StartedCluster;
  let primaryIp: string;
  /** The cluster's CA volume as the primary made it: a refused replica must leave it byte for byte. */
  let caBefore: unknown;

  it.beforeAll(async ({ bed }) => {
    cluster = await new ClusterContainer(bed).withReplicas(0).start();
    primaryIp = cluster.primary.getIpAddress(bed.network.getName());
    caBefore = (await new OneShotContainer(bed.image).withEntrypoint("true").withVolume(cluster.caVolume, caDir).withDigest(caDir).run()).digests[caDir];
    expect(JSON.stringify(caBefore)).toContain("ca.key");
  });

  it.afterAll(async () => {
    await cluster?.stop();
  });

  it.for(cases)("refuses $what", async ({ env, ca, exitCode, line }, { bed }) => {
    let container = new OneShotContainer(bed.image)
      .withNetwork(bed.network.getName())
      .withEnvironment({ SERVER_NAME: "replica-x", ...env(cluster, primaryIp) })
      .withListing(pgdata)
      .withListing(sslDir);
    if (ca === "cluster") container = container.withVolume(cluster.caVolume, caDir).withDigest(caDir);
    if (ca === "foreign") container = container.withFile(`${caDir}/ca.crt`, testCa().cert).withFile(`${caDir}/ca.key`, testCa().key, 0o600);
    if (ca === "none") container = container.withListing(caDir);
    const result = await container.run();
    expect(result.exitCode, result.output).toBe(exitCode);
    const errors = result.output.split("\n").filter((l) => /\bERROR\b|configuration error/.test(l));
    expect(errors, result.output).toHaveLength(1);
    expect(errors[0]).toMatch(line);
    // Nothing written: no data, no certificate, no CA generated ("" is the directory itself, if made).
    const written = (path: string) => result.listings[path].filter((entry) => entry !== "");
    expect(written(pgdata)).toEqual([]);
    expect(written(sslDir)).toEqual([]);
    if (ca === "none") expect(written(caDir)).toEqual([]);
    // The shared CA: same files, same contents and modes.
    if (ca === "cluster") expect(result.digests[caDir]).toEqual(caBefore);
  });

  it("logs one progress line per attempt while it waits for the primary", async ({ bed }) => {
    const result = await new OneShotContainer(bed.image)
      .withNetwork(bed.network.getName())
      .withEnvironment({ PG_MODE: "replica", PRIMARY_HOST: "no-such-primary", PRIMARY_WAIT_SECONDS: "8", REPLICATION_PASSWORD: cluster.replicationPassword })
      .withVolume(cluster.caVolume, caDir)
      .run();
    const waits = result.output.split("\n").filter((l) => /clone-replica: waiting for PRIMARY_HOST no-such-primary:5432 \(attempt \d+, \d+ s left\)/.test(l));
    expect(waits.length, result.output).toBeGreaterThanOrEqual(1);
    expect(waits[0]).toMatch(/attempt 1,/);
  });

  it("left no replication slot on the primary", async () => {
    expect(await cluster.primary.sql("SELECT slot_name FROM pg_replication_slots")).toEqual([]);
  });
});
