import { randomBytes, X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import pg from "pg";
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { $ } from "zx";
import {
  caDir,
  containerEngine,
  OneShotContainer,
  pollUntil,
  ReplicaContainer,
  removeVolume,
  type StartedPrimaryContainer,
  type StartedReplicaContainer,
} from "../harness/index.js";
import { fillVolume } from "../harness/one-shot.js";
import { ownCa, ownServerCert } from "../harness/test-ca.js";

/**
 * Certificates from the user's own PKI: only the CA's certificate is on any member (no CA key
 * anywhere), server.crt may carry intermediates, a renewed pair is taken with a reload, status
 * warns before expiry. And directories the runtime must write but cannot (read-only mounts,
 * another owner under --user) stop the start with one line before anything is written.
 */
describe("@own-certificates a user's own CA, chains, renewal by reload, expiry warnings and unwritable directories", () => {
  const id = randomBytes(4).toString("hex");
  const creds = { user: "app", password: "app-secret", database: "app" };
  const sslDir = "/var/lib/postgresql/ssl";
  const volumes: string[] = [];
  const started: StartedPrimaryContainer[] = [];
  const volume = (name: string) => {
    volumes.push(`own-${name}-${id}`);
    return volumes[volumes.length - 1];
  };

  it.afterAll(async () => {
    await Promise.all(started.map((c) => c.stop().catch(() => undefined)));
    for (const v of volumes) await removeVolume(v);
  });

  /** A verify-full connection that trusts only `ca` (the user's root), and the certificate the server showed. */
  async function verifiedPeer(container: StartedPrimaryContainer, ca: string): Promise<{ fingerprint: string; serial: string; issuer: string; rows: number }> {
    const client = new pg.Client({
      host: container.getHost(),
      port: container.getMappedPort(5432),
      ...creds,
      ssl: { ca, rejectUnauthorized: true, servername: "localhost" },
    });
    await client.connect();
    try {
      const peer = (client as unknown as { connection: { stream: TLSSocket } }).connection.stream.getPeerCertificate();
      const { rowCount } = await client.query("SELECT 1");
      return { fingerprint: peer.fingerprint256, serial: peer.serialNumber, issuer: peer.issuer.CN as string, rows: rowCount ?? 0 };
    } finally {
      await client.end();
    }
  }

  const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
  const tlsLine = (logs: string) => logs.split("\n").find((l) => l.includes("ensure-tls:")) ?? "";

  describe("a primary and a replica on certificates from the user's CA, with no CA key anywhere", () => {
    const root = ownCa("Acme Root CA");
    const primaryCert = ownServerCert(root, ["primary", "localhost"]);
    const replicaCert = ownServerCert(root, ["replica1", "localhost"]);
    let primary: StartedPrimaryContainer;
    let replica: StartedReplicaContainer;

    it.beforeAll(async ({ bed }) => {
      // CA_DIR: the user's ca.crt alone, mounted read-only on both members. The replica's
      // SSL_CERT_DIR is read-only too (server.crt, server.key, root.crt); the primary's is copied in.
      const caVolume = volume("ca");
      const replicaSsl = volume("replica-ssl");
      await fillVolume(bed.image, caVolume, [{ path: "ca.crt", content: root.cert }]);
      await fillVolume(bed.image, replicaSsl, [
        { path: "server.crt", content: replicaCert.cert },
        { path: "server.key", content: replicaCert.key, mode: 0o600 },
        { path: "root.crt", content: root.cert },
      ]);
      const bucket = await bed.s3.createBucket(`own-${id}`);
      primary = await bed
        .primary(bucket)
        .withUsername(creds.user)
        .withPassword(creds.password)
        .withDatabase(creds.database)
        .withServerName("primary")
        .withEnvironment({ REPLICATION_PASSWORD: "replication-secret" })
        .withBindMounts([{ source: caVolume, target: caDir, mode: "ro" }])
        .withCopyContentToContainer([
          { content: primaryCert.cert, target: `${sslDir}/server.crt`, mode: 0o644 },
          { content: primaryCert.key, target: `${sslDir}/server.key`, mode: 0o600 },
        ])
        .start();
      started.push(primary);
      await primary.waitForBackupsActive();
      replica = await new ReplicaContainer(bed.image)
        .withNetwork(bed.network)
        .withBucket(bucket)
        .withUsername(creds.user)
        .withPassword(creds.password)
        .withDatabase(creds.database)
        .withServerName("replica1")
        .withPrimary("primary")
        .withEnvironment({ REPLICATION_PASSWORD: "replication-secret", REPLICATION_SSLMODE: "verify-full" })
        .withBindMounts([
          { source: caVolume, target: caDir, mode: "ro" },
          { source: replicaSsl, target: sslDir, mode: "ro" },
        ])
        .start();
      started.push(replica);
      await replica.waitForStreaming();
    });

    it("the primary serves the user's certificate: verify-full with only the user's root succeeds", async () => {
      const peer = await verifiedPeer(primary, root.cert);
      expect(peer).toMatchObject({ fingerprint: fingerprint(primaryCert.cert), issuer: "Acme Root CA", rows: 1 });
      // Verification is real: a client trusting another CA is refused.
      await expect(verifiedPeer(primary, ownCa("Some Other CA").cert)).rejects.toThrow(
        /self-signed certificate in certificate chain|unable to verify|unable to get/,
      );
      const line = tlsLine(await primary.logText());
      expect(line).toMatch(/ensure-tls: kept existing server certificate \(valid until \d{4}-\d\d-\d\d\); root\.crt from the CA$/);
      expect(line).not.toMatch(/generated|WARNING/);
    });

    it("no member has or made a CA key: CA_DIR holds only ca.crt #own-ca", async () => {
      for (const member of [primary, replica]) {
        expect((await member.execOk(["ls", "-A", caDir])).output.trim()).toBe("ca.crt");
        expect((await member.execOk(["find", "/var/lib/postgresql", "-name", "*.key", "-not", "-path", `${sslDir}/server.key`])).output.trim()).toBe("");
      }
    });

    it("the replica serves its own certificate from read-only mounts and streams over TLS verified with verify-full", async () => {
      expect(await verifiedPeer(replica, root.cert)).toMatchObject({ fingerprint: fingerprint(replicaCert.cert), rows: 1 });
      expect(tlsLine(await replica.logText())).toMatch(/ensure-tls: kept existing server certificate \(valid until [\d-]+\)$/);
      const [receiver] = await replica.sql<{ status: string; conninfo: string }>("SELECT status, conninfo FROM pg_stat_wal_receiver");
      expect(receiver.status).toBe("streaming");
      expect(receiver.conninfo).toMatch(/sslmode=verify-full /);
      expect(receiver.conninfo).toMatch(/sslrootcert=\/var\/lib\/postgresql\/ca\/ca\.crt /);
      const [status] = await primary.replicationStatus();
      expect(status).toMatchObject({ application_name: "replica1", state: "streaming", ssl: true });
      await primary.sql("CREATE TABLE own_certs (id int PRIMARY KEY)");
      await primary.sql("INSERT INTO own_certs SELECT generate_series(1, 100)");
      await replica.waitForReplay(await primary.walLsn());
      expect(await replica.sql("SELECT count(*)::int AS n FROM own_certs")).toEqual([{ n: 100 }]);
    });
  });

  describe("an intermediate chain, close to expiry, renewed with a reload", () => {
    const root = ownCa("Acme Root CA 2");
    const issuing = ownCa("Acme Issuing CA", root, 1825);
    const shortLived = ownServerCert(issuing, ["localhost"], 10);
    const renewed = ownServerCert(issuing, ["localhost"], 400);
    const pidFile = "/var/lib/postgresql/18/docker/postmaster.pid";
    let db: StartedPrimaryContainer;

    it.beforeAll(async ({ bed }) => {
      // server.crt: the leaf, then the intermediate; CA_DIR: the root's certificate only.
      db = await bed
        .primary(await bed.s3.createBucket(`chain-${id}`))
        .withUsername(creds.user)
        .withPassword(creds.password)
        .withDatabase(creds.database)
        .withCopyContentToContainer([
          { content: shortLived.cert + issuing.cert, target: `${sslDir}/server.crt`, mode: 0o644 },
          { content: shortLived.key, target: `${sslDir}/server.key`, mode: 0o600 },
          { content: root.cert, target: `${caDir}/ca.crt`, mode: 0o644 },
        ])
        .start();
      started.push(db);
      await db.waitForBackupsActive();
    });

    it("starts with the chain; a client trusting only the root verifies it (verify-full); no chain warning #cert-chain", async () => {
      const peer = await verifiedPeer(db, root.cert);
      expect(peer).toMatchObject({ fingerprint: fingerprint(shortLived.cert), issuer: "Acme Issuing CA", rows: 1 });
      const line = tlsLine(await db.logText());
      expect(line).toContain("kept existing server certificate");
      expect(line).not.toMatch(/does not chain|not signed/);
      // The one warning it has is the true one: the certificate expires in 10 days.
      expect(line).toMatch(
        /WARNING: server certificate \/var\/lib\/postgresql\/ssl\/server\.crt \(.*CN=localhost.*\) expires on \d{4}-\d\d-\d\d, in 9 day\(s\)/,
      );
    });

    it("postgres-ba status calls a certificate expiring within 30 days a problem, with its date, and exits 2 #cert-expiry-warning", async () => {
      const expires = new Date(new X509Certificate(shortLived.cert).validTo).toISOString().slice(0, 10);
      const json = await db.exec(["postgres-ba", "status", "--json"]);
      expect(json.exitCode, json.output).toBe(2);
      const status = JSON.parse(json.output.slice(json.output.indexOf("{")));
      expect(status.problems).toEqual([
        expect.stringMatching(
          new RegExp(
            `^server certificate /var/lib/postgresql/ssl/server\\.crt \\(.*CN=localhost.*\\) expires on ${expires}, in 9 day\\(s\\) \\(less than 30\\): put a new server\\.crt and server\\.key in place, then SELECT pg_reload_conf\\(\\)`,
          ),
        ),
      ]);
      expect(status.tls).toMatchObject({ certificate: `${sslDir}/server.crt`, daysLeft: 9, notAfter: expect.stringMatching(new RegExp(`^${expires}`)) });
      const text = await db.exec(["postgres-ba", "status"]);
      expect(text.exitCode).toBe(2);
      expect(text.output).toMatch(new RegExp(`TLS: server certificate valid until ${expires} \\(9 d left\\)`));
      expect(text.output).toMatch(/problem: server certificate .* expires on/);
    });

    it("a new pair put in place and pg_reload_conf(): new connections get the new certificate, same postmaster #cert-reload", async () => {
      const pidBefore = (await db.execOk(["head", "-n", "1", pidFile])).output.trim();
      await db.copyContentToContainer([
        { content: renewed.cert + issuing.cert, target: "/tmp/renewed.crt", mode: 0o644 },
        { content: renewed.key, target: "/tmp/renewed.key", mode: 0o600 },
      ]);
      await db.execOk(["install", "-o", "postgres", "-g", "postgres", "-m", "600", "/tmp/renewed.key", `${sslDir}/server.key`]);
      await db.execOk(["install", "-o", "postgres", "-g", "postgres", "-m", "644", "/tmp/renewed.crt", `${sslDir}/server.crt`]);
      await db.sql("SELECT pg_reload_conf()");
      const peer = await pollUntil(
        "the renewed certificate served",
        async () => {
          const p = await verifiedPeer(db, root.cert);
          return p.fingerprint === fingerprint(renewed.cert) ? p : undefined;
        },
        { timeoutMs: 15_000 },
      );
      expect(peer.serial).toBe(new X509Certificate(renewed.cert).serialNumber);
      expect((await db.execOk(["head", "-n", "1", pidFile])).output.trim()).toBe(pidBefore);
      const status = await db.exec(["postgres-ba", "status", "--json"]);
      expect(status.exitCode, status.output).toBe(0);
      expect(JSON.parse(status.output.slice(status.output.indexOf("{"))).tls.daysLeft).toBeGreaterThanOrEqual(399);
    });
  });

  describe("directories the runtime must write but cannot: one line, exit 73, nothing changed #unwritable-directories", () => {
    /** A volume that holds a data directory, as a previous container left it (owned by postgres). */
    async function dataVolume(image: string, name: string): Promise<string> {
      const v = volume(name);
      await fillVolume(image, v, [{ path: "18/docker/PG_VERSION", content: "18\n" }]);
      return v;
    }
    const errorLines = (output: string) => output.split("\n").filter((l) => l.includes("ERROR"));

    it("the PGDATA volume mounted read-only: names PGDATA and says mount it read-write", async ({ bed }) => {
      const r = await new OneShotContainer(bed.image)
        .withVolume(await dataVolume(bed.image, "ro-data"), "/var/lib/postgresql", { readOnly: true })
        .withEnvironment({ POSTGRES_PASSWORD: "pw" })
        .withListing("/var/lib/postgresql")
        .run(60_000);
      expect(r.exitCode, r.output).toBe(73);
      expect(errorLines(r.output)).toHaveLength(1);
      expect(errorLines(r.output)[0]).toMatch(
        /check-permissions: ERROR: PGDATA \/var\/lib\/postgresql\/18\/docker is on a read-only mount \(\/var\/lib\/postgresql\), but the server keeps its data there; nothing was changed\. Fix: mount \/var\/lib\/postgresql read-write\.$/,
      );
      expect(r.output).not.toMatch(/lock-data-directory|prepare-directories/);
      expect(r.listings["/var/lib/postgresql"]).toEqual(["", "18", "18/docker", "18/docker/PG_VERSION"]);
    });

    it("a full spool disk with asynchronous archiving: names the spool, its free space and the fix #full-spool", async ({ bed }) => {
      // The check runs before S3 is contacted: these settings only need to parse.
      const backups = { PGBACKREST_STANZA: "main", S3_BUCKET: "spool-check", S3_ACCESS_KEY: "key", S3_SECRET_KEY: "secret", S3_ENDPOINT: "s3.invalid" };
      const r = await new OneShotContainer(bed.image)
        .withVolume(volume("full-spool"), "/var/lib/postgresql")
        .withTmpfs("/var/spool/pgbackrest", "1m")
        .withEnvironment({ POSTGRES_PASSWORD: "pw", ...backups })
        .withListing("/var/lib/postgresql")
        .run(60_000);
      expect(r.exitCode, r.output).toBe(73);
      expect(errorLines(r.output)).toEqual([
        expect.stringMatching(
          /check-spool-space: ERROR: \/var\/spool\/pgbackrest has [01]\.\d MB free, less than the 16\.0 MB asynchronous archiving needs: .*Fix: free space there, mount a larger volume at \/var\/spool\/pgbackrest, or set ARCHIVE_ASYNC=false\.$/,
        ),
      ]);
      expect(r.listings["/var/lib/postgresql"].filter((e) => e.startsWith("18/docker/") || e.includes(".postgres-ba"))).toEqual([]);
    });

    it("an empty CA_DIR mounted read-only when a CA must be generated: names CA_DIR, nothing created", async ({ bed }) => {
      const empty = volume("ro-ca");
      const { cli } = await containerEngine();
      await $({ quiet: true })`${cli} volume create ${empty}`;
      const r = await new OneShotContainer(bed.image)
        .withVolume(empty, caDir, { readOnly: true })
        .withEnvironment({ POSTGRES_PASSWORD: "pw" })
        .withListing("/var/lib/postgresql")
        .run(60_000);
      expect(r.exitCode, r.output).toBe(73);
      expect(errorLines(r.output)).toHaveLength(1);
      expect(errorLines(r.output)[0]).toMatch(
        /check-permissions: ERROR: CA_DIR \/var\/lib\/postgresql\/ca is on a read-only mount \(\/var\/lib\/postgresql\/ca\), but a CA must be generated .*Fix: mount \/var\/lib\/postgresql\/ca read-write, or provide ca\.crt and ca\.key in it/,
      );
      // The image's own empty PGDATA and the mount point only: no CA, no ssl directory, no lock, no data.
      expect(r.listings["/var/lib/postgresql"].filter((e) => !["", "ca", "18", "18/docker"].includes(e))).toEqual([]);
    });

    it("--user 12345 on a volume owned by postgres: names the paths and the chown to run", async ({ bed }) => {
      const r = await new OneShotContainer(bed.image)
        .withVolume(await dataVolume(bed.image, "other-owner"), "/var/lib/postgresql")
        .withUser("12345")
        .withEnvironment({ POSTGRES_PASSWORD: "pw" })
        .withListing("/var/lib/postgresql")
        .run(60_000);
      expect(r.exitCode, r.output).toBe(73);
      expect(errorLines(r.output)).toHaveLength(1);
      expect(errorLines(r.output)[0]).toMatch(
        /check-permissions: ERROR: running as 12345:0 \(docker run --user\): PGDATA \/var\/lib\/postgresql\/18\/docker belongs to (\d+):\1, and PostgreSQL runs only on a data directory of its own; .*nothing was changed\. Fix: chown -R 12345:0 \/var\/lib\/postgresql \(as root.*\), or run as their owner with --user \1:\1\.$/,
      );
      expect(r.listings["/var/lib/postgresql"]).toEqual(["", "18", "18/docker", "18/docker/PG_VERSION"]);
    });
  });
});
