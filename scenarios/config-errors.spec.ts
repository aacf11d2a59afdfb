/**
 * Bad input, measured: every invalid configuration below stops a one-shot container with exit 78
 * and exactly one line on stderr (nothing on stdout) naming the variable, the value (a secret
 * only by its length) and the fix, before anything is touched. "Touched" is measured by content:
 * the cases run against a real database volume and a bucket holding its stanza and first full
 * backup: every file on the volume (type, mode, owner, size, sha256) and every object in the
 * bucket (ETag and size) must be exactly as before, and the container's own filesystem must hold
 * no write at all (the engine's `diff`, which covers /etc/pgbackrest, the spool, the logs and the
 * socket directory along with everything else).
 */
import { randomBytes } from "node:crypto";
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { OneShotContainer, removeVolume, type BucketConfig } from "../harness/index.js";
import type { TreeDigest } from "../harness/tar-digest.js";

interface BadConfig {
  what: string;
  /** Changes to a valid backup configuration (undefined removes a variable). */
  env: Record<string, string | undefined>;
  /** Secret files to put in the container. */
  files?: Record<string, string>;
  /** How the line names the variable and its value: the text between "configuration error: " and ": ". */
  names: string | ((bucket: BucketConfig) => string);
  /** The problem and the fix. */
  line: RegExp;
  /** Values that must appear nowhere in the output (secrets). */
  secrets?: string[];
}

const cipherPass = "correct horse battery staple";
const replicationPassword = "replication-secret-1";
/** Of an Azure account key's form (base64): a secret, shown only by its length. */
const azureKey = Buffer.from("an-azure-account-key-of-32-bytes").toString("base64");
const restore = { RESTORE_FROM_BACKUP: "true" };

/** Each case starts from a valid backup configuration and breaks one thing. */
const cases: BadConfig[] = [
  // --- required, exclusive and unknown values (the first 13) ---
  {
    what: "backups enabled without a bucket",
    env: { S3_BUCKET: undefined },
    names: "S3_BUCKET",
    line: /is required because PGBACKREST_STANZA="main" enables backups\. Fix: set S3_BUCKET/,
  },
  {
    what: "an unknown PG_MODE",
    env: { PG_MODE: "standby" },
    names: 'PG_MODE="standby"',
    line: /expected one of primary, replica\. Fix: set PG_MODE to one of primary, replica, or unset it for the default \(primary\)/,
  },
  {
    what: "a non-numeric RETENTION_FULL",
    env: { RETENTION_FULL: "abc" },
    names: 'RETENTION_FULL="abc"',
    line: /expected a whole number 1-9999999\. Fix: .*default \(4\)/,
  },
  {
    what: "a cron expression that is not one",
    env: { BACKUP_SCHEDULE_INCR: "every 5 minutes" },
    names: 'BACKUP_SCHEDULE_INCR="every 5 minutes"',
    line: /expected a cron expression .* or "off"\. Fix:/,
  },
  {
    what: "a password and a password file at once",
    env: { POSTGRES_PASSWORD: "pw", POSTGRES_PASSWORD_FILE: "/run/secrets/pw" },
    names: 'POSTGRES_PASSWORD=<secret, 2 characters> and POSTGRES_PASSWORD_FILE="/run/secrets/pw"',
    line: /both are set, but they are exclusive\. Fix: set only one of them/,
  },
  {
    what: "a password file that does not exist",
    env: { POSTGRES_PASSWORD: undefined, POSTGRES_PASSWORD_FILE: "/run/secrets/missing" },
    names: 'POSTGRES_PASSWORD_FILE="/run/secrets/missing"',
    line: /cannot be read \(ENOENT\)\. Fix: mount the secret file/,
  },
  {
    what: "a bucket without a stanza",
    env: { PGBACKREST_STANZA: undefined },
    names: (b) => `S3_BUCKET=${JSON.stringify(b.name)}`,
    line: /is set but PGBACKREST_STANZA is not, so no backup would ever be taken\. Fix: set PGBACKREST_STANZA/,
  },
  {
    what: "restore and replica at once",
    env: { ...restore, PG_MODE: "replica" },
    names: "RESTORE_FROM_BACKUP=true with PG_MODE=replica",
    line: /Fix: unset RESTORE_FROM_BACKUP for a replica/,
  },
  { what: "an unknown S3 URI style", env: { S3_URI_STYLE: "virtual" }, names: 'S3_URI_STYLE="virtual"', line: /expected one of host, path\./ },
  {
    what: "a missing S3 secret key",
    env: { S3_SECRET_KEY: undefined },
    names: "S3_SECRET_KEY",
    line: /is required .*Fix: set S3_SECRET_KEY \(or S3_SECRET_KEY_FILE\)/,
  },
  {
    what: "zstd instead of zst",
    env: { PGBACKREST_COMPRESS_TYPE: "zstd" },
    names: 'PGBACKREST_COMPRESS_TYPE="zstd"',
    line: /expected one of zst, lz4, gz, bz2, none\./,
  },
  { what: "a unit in ARCHIVE_TIMEOUT", env: { ARCHIVE_TIMEOUT: "60s" }, names: 'ARCHIVE_TIMEOUT="60s"', line: /expected a whole number 1-86400\./ },
  { what: "a port out of range", env: { POSTGRES_PORT: "70000" }, names: 'POSTGRES_PORT="70000"', line: /expected a whole number 1-65535\./ },

  // --- PGBACKREST_*: passed to pgBackRest as the option it names, or refused ---
  {
    what: "encryption without a passphrase",
    env: { PGBACKREST_REPO1_CIPHER_TYPE: "aes-256-cbc" },
    names: 'PGBACKREST_REPO1_CIPHER_TYPE="aes-256-cbc"',
    line: /encrypts the repository, but PGBACKREST_REPO1_CIPHER_PASS is not set\. Fix: set PGBACKREST_REPO1_CIPHER_PASS/,
  },
  {
    what: "a passphrase without encryption",
    env: { PGBACKREST_REPO1_CIPHER_PASS: cipherPass },
    names: `PGBACKREST_REPO1_CIPHER_PASS=<secret, ${cipherPass.length} characters>`,
    line: /so the repository would not be encrypted\. Fix: set PGBACKREST_REPO1_CIPHER_TYPE=aes-256-cbc/,
    secrets: [cipherPass],
  },
  {
    what: "a cipher pgBackRest does not have",
    env: { PGBACKREST_REPO1_CIPHER_TYPE: "aes256", PGBACKREST_REPO1_CIPHER_PASS: cipherPass },
    names: 'PGBACKREST_REPO1_CIPHER_TYPE="aes256"',
    line: /is not one of pgBackRest's values for repo1-cipher-type\. Fix: set PGBACKREST_REPO1_CIPHER_TYPE to one of none, aes-256-cbc/,
    secrets: [cipherPass],
  },
  {
    what: "a misspelled pgBackRest option",
    env: { PGBACKREST_REPO1_CIPHER_TYP: "aes-256-cbc" },
    names: 'PGBACKREST_REPO1_CIPHER_TYP="aes-256-cbc"',
    line: /repo1-cipher-typ is not a pgBackRest 2\.60 option.*Fix: did you mean PGBACKREST_REPO1_CIPHER_TYPE\?/,
  },
  {
    what: "a pgBackRest option the image sets from RETENTION_FULL",
    env: { PGBACKREST_REPO1_RETENTION_FULL: "7" },
    names: 'PGBACKREST_REPO1_RETENTION_FULL="7"',
    line: /repo1-retention-full is set by the image\. Fix: use RETENTION_FULL instead/,
  },
  {
    what: "the S3 secret as a pgBackRest variable",
    env: { PGBACKREST_REPO1_S3_KEY_SECRET: "other-secret-key" },
    names: "PGBACKREST_REPO1_S3_KEY_SECRET=<secret, 16 characters>",
    line: /Fix: use S3_SECRET_KEY \(or S3_SECRET_KEY_FILE\) instead/,
    secrets: ["other-secret-key"],
  },
  {
    what: "a second repository's option without REPO2_TYPE",
    env: { PGBACKREST_REPO2_PATH: "/second" },
    names: 'PGBACKREST_REPO2_PATH="/second"',
    line: /is an option of a second repository, but REPO2_TYPE is not set, so there is none\. Fix: set REPO2_TYPE and the second repository's REPO2_\* variables/,
  },
  {
    what: "a command-line option as a variable",
    env: { PGBACKREST_TARGET_ACTION: "pause" },
    names: 'PGBACKREST_TARGET_ACTION="pause"',
    line: /target-action is a command-line option of pgBackRest.*Fix: use RESTORE_TARGET_ACTION instead/,
  },
  {
    what: "pgBackRest's old name of an option",
    env: { PGBACKREST_RETENTION_FULL: "2" },
    names: 'PGBACKREST_RETENTION_FULL="2"',
    line: /is pgBackRest's old name for repo1-retention-full, which the image sets\. Fix: use RETENTION_FULL instead/,
  },
  {
    what: "a boolean pgBackRest option as true",
    env: { PGBACKREST_START_FAST: "true" },
    names: 'PGBACKREST_START_FAST="true"',
    line: /takes boolean options from the environment only as y or n\. Fix: set PGBACKREST_START_FAST to y or n/,
  },
  {
    what: "an option of another repository type",
    env: { PGBACKREST_REPO1_GCS_BUCKET: "backups" },
    names: 'PGBACKREST_REPO1_GCS_BUCKET="backups"',
    line: /applies to repo1-type=gcs, and this container's repository is REPO_TYPE=s3/,
  },
  {
    what: "a pgBackRest option in drop-in mode",
    env: { PGBACKREST_STANZA: undefined, S3_BUCKET: undefined, PGBACKREST_ARCHIVE_TIMEOUT: "90" },
    names: 'PGBACKREST_ARCHIVE_TIMEOUT="90"',
    line: /is a pgBackRest option, but PGBACKREST_STANZA is not set, so pgBackRest never runs/,
  },

  // --- control characters, names ---
  {
    what: "a newline in POSTGRES_DB",
    env: { POSTGRES_DB: "app\nDROP DATABASE app" },
    names: 'POSTGRES_DB="app\\nDROP DATABASE app"',
    line: /contains a newline at position 4\. Fix: remove newlines, tabs and other control characters from POSTGRES_DB/,
  },
  {
    what: "an escape sequence in a password file",
    env: { POSTGRES_PASSWORD: undefined, POSTGRES_PASSWORD_FILE: "/run/secrets/pw" },
    files: { "/run/secrets/pw": "pw\u001b[31mred\n" },
    names: "POSTGRES_PASSWORD=<secret, 10 characters>",
    line: /contains an escape character at position 3\. Fix: .*POSTGRES_PASSWORD_FILE's file/,
    secrets: ["pw\u001b[31mred", "31mred"],
  },
  { what: "a tab in S3_REGION", env: { S3_REGION: "us-east-1\t" }, names: 'S3_REGION="us-east-1\\t"', line: /contains a tab at position 10\./ },
  {
    what: "a superuser name of 64 bytes",
    env: { POSTGRES_USER: "é".repeat(32) },
    names: `POSTGRES_USER="${"é".repeat(32)}"`,
    line: /is 64 bytes long in UTF-8, but PostgreSQL names hold at most 63 bytes\. Fix: set POSTGRES_USER to a role name of 1-63 bytes/,
  },

  // --- ports ---
  {
    what: "metrics on PostgreSQL's port",
    env: { METRICS_PORT: "5432" },
    names: 'METRICS_PORT="5432"',
    line: /is also POSTGRES_PORT: PostgreSQL and the metrics server cannot listen on one port\. Fix: choose another METRICS_PORT/,
  },
  { what: "S3 port 0", env: { S3_PORT: "0" }, names: 'S3_PORT="0"', line: /expected a whole number 1-65535\. Fix: .*default \(443\)/ },

  // --- directories ---
  {
    what: "PGDATA at /",
    env: { PGDATA: "/" },
    names: 'PGDATA="/"',
    line: /is the root directory\. Fix: set PGDATA to an absolute directory path, not \/ and not in \/bin/,
  },
  {
    what: "PGDATA in /usr",
    env: { PGDATA: "/usr/local/pgsql/data" },
    names: 'PGDATA="/usr/local/pgsql/data"',
    line: /is inside \/usr, a system directory of the image/,
  },
  {
    what: "PGDATA at the volume root, around the CA",
    env: { PGDATA: "/var/lib/postgresql" },
    names: 'CA_DIR="/var/lib/postgresql/ca" (its default)',
    line: /is inside PGDATA \("\/var\/lib\/postgresql"\).*Fix: set PGDATA to a directory that does not contain/,
  },
  {
    what: "CA_DIR in /etc",
    env: { CA_DIR: "/etc/ssl" },
    names: 'CA_DIR="/etc/ssl"',
    line: /is inside \/etc, a system directory of the image\. Fix: set CA_DIR to an absolute directory path/,
  },
  {
    what: "SSL_CERT_DIR inside PGDATA",
    env: { SSL_CERT_DIR: "/var/lib/postgresql/18/docker/ssl" },
    names: 'SSL_CERT_DIR="/var/lib/postgresql/18/docker/ssl"',
    line: /is inside PGDATA .*Fix: set SSL_CERT_DIR to a directory outside PGDATA/,
  },
  {
    what: "the WAL directory inside PGDATA",
    env: { POSTGRES_INITDB_WALDIR: "/var/lib/postgresql/18/docker/pg_wal" },
    names: 'POSTGRES_INITDB_WALDIR="/var/lib/postgresql/18/docker/pg_wal"',
    line: /is inside PGDATA .*Fix: set POSTGRES_INITDB_WALDIR to a directory outside PGDATA/,
  },
  {
    what: "the WAL directory in /dev",
    env: { POSTGRES_INITDB_WALDIR: "/dev/shm/wal" },
    names: 'POSTGRES_INITDB_WALDIR="/dev/shm/wal"',
    line: /is inside \/dev, a system directory of the image/,
  },

  // --- roles and authentication ---
  {
    what: "postgres as the replication role",
    env: { REPLICATION_USER: "postgres" },
    names: 'REPLICATION_USER="postgres"',
    line: /expected a role name .*not postgres and not starting with pg_ \(reserved\)/,
  },
  {
    what: "a pg_ replication role",
    env: { REPLICATION_USER: "pg_monitor" },
    names: 'REPLICATION_USER="pg_monitor"',
    line: /not starting with pg_ \(reserved\)/,
  },
  {
    what: "the superuser as the replication role",
    env: { POSTGRES_USER: "admin", REPLICATION_USER: "admin", REPLICATION_PASSWORD: replicationPassword },
    names: 'REPLICATION_USER="admin"',
    line: /is the superuser; replication uses a role of its own.*Fix: choose another name/,
    secrets: [replicationPassword],
  },
  {
    what: "ldap from one pg_hba.conf line",
    env: { POSTGRES_HOST_AUTH_METHOD: "ldap" },
    names: 'POSTGRES_HOST_AUTH_METHOD="ldap"',
    line: /ldap needs ldapserver .*Fix: set POSTGRES_HOST_AUTH_METHOD to one of scram-sha-256, md5, password, trust, reject/,
  },
  {
    what: "cert on a host line",
    env: { POSTGRES_HOST_AUTH_METHOD: "cert" },
    names: 'POSTGRES_HOST_AUTH_METHOD="cert"',
    line: /cert works only on hostssl lines/,
  },
  {
    what: "too few WAL senders for a replica",
    env: { MAX_WAL_SENDERS: "1", REPLICATION_PASSWORD: replicationPassword },
    names: 'MAX_WAL_SENDERS="1"',
    line: /cloning a replica uses two WAL senders.*Fix: set MAX_WAL_SENDERS to at least 2/,
    secrets: [replicationPassword],
  },

  // --- the repository's place and encryption ---
  {
    what: "a repository directory inside PGDATA",
    env: { S3_BUCKET: undefined, S3_ACCESS_KEY: undefined, S3_SECRET_KEY: undefined, REPO_TYPE: "posix", REPO_PATH: "/var/lib/postgresql/18/docker/repo" },
    names: 'REPO_PATH="/var/lib/postgresql/18/docker/repo"',
    line: /overlaps PGDATA .*backups would live and die with the data they protect.*Fix: mount the repository somewhere else/,
  },
  {
    what: "an Azure account key left over beside an S3 bucket",
    env: { AZURE_KEY: azureKey },
    names: "AZURE_KEY=<secret, 44 characters>",
    line: /is set, but REPO_TYPE is s3: it belongs to a repository of REPO_TYPE=azure.*Fix: unset AZURE_KEY, or set REPO_TYPE=azure/,
    secrets: [azureKey],
  },
  {
    what: "two encryption settings at once",
    env: { REPO_CIPHER_PASS: cipherPass, PGBACKREST_REPO1_CIPHER_TYPE: "aes-256-cbc", PGBACKREST_REPO1_CIPHER_PASS: cipherPass },
    names: `REPO_CIPHER_PASS=<secret, ${cipherPass.length} characters> and PGBACKREST_REPO1_CIPHER_PASS`,
    line: /both set the repository's encryption, but they are exclusive\. Fix: set only REPO_CIPHER_PASS/,
    secrets: [cipherPass],
  },

  // --- restore targets PostgreSQL would reject after the download, a schedule that never fires ---
  {
    what: "a quote in a restore point name",
    env: { ...restore, RESTORE_TARGET_NAME: "before 'migration'" },
    names: `RESTORE_TARGET_NAME="before 'migration'"`,
    line: /contains a single quote, which PostgreSQL's recovery_target_name cannot carry/,
  },
  {
    what: "a transaction id beyond 64 bits",
    env: { ...restore, RESTORE_TARGET_XID: "18446744073709551616" },
    names: 'RESTORE_TARGET_XID="18446744073709551616"',
    line: /is larger than 2\^64-1.*Fix: set RESTORE_TARGET_XID to a transaction id/,
  },
  {
    what: "February 30 as a restore time",
    env: { ...restore, RESTORE_TARGET_TIME: "2026-02-30 12:00:00+00" },
    names: 'RESTORE_TARGET_TIME="2026-02-30 12:00:00+00"',
    line: /names day 30 of a month that has 28 days/,
  },
  {
    what: "a schedule that never fires",
    env: { BACKUP_SCHEDULE_FULL: "0 0 30 2 *" },
    names: 'BACKUP_SCHEDULE_FULL="0 0 30 2 *"',
    line: /never fires: no date matches it.*Fix: set BACKUP_SCHEDULE_FULL to a cron expression/,
  },

  // --- high availability (HA_MODE=patroni), refused before Patroni or anything else starts ---
  {
    what: "HA_MODE=patroni without an etcd to elect through",
    env: { HA_MODE: "patroni", REPLICATION_PASSWORD: replicationPassword },
    names: "HA_ETCD_HOSTS",
    line: /is required because HA_MODE=patroni with HA_STORE=etcd3: Patroni elects the leader through etcd\. Fix: set HA_ETCD_HOSTS/,
    secrets: [replicationPassword],
  },
  {
    what: "Patroni's Kubernetes store outside Kubernetes",
    env: { HA_MODE: "patroni", HA_STORE: "kubernetes", REPLICATION_PASSWORD: replicationPassword },
    names: "HA_STORE=kubernetes",
    line: /needs a Kubernetes pod \(KUBERNETES_SERVICE_HOST is not set\).*Fix: run the member in Kubernetes/,
  },
  {
    what: "an etcd address with the Kubernetes store",
    env: {
      HA_MODE: "patroni",
      HA_STORE: "kubernetes",
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      HA_ETCD_HOSTS: "etcd:2379",
      REPLICATION_PASSWORD: replicationPassword,
    },
    names: 'HA_ETCD_HOSTS="etcd:2379"',
    line: /belongs to HA_STORE=etcd3, but HA_STORE is kubernetes, so nothing would use it\. Fix: set HA_STORE=etcd3, or unset HA_ETCD_HOSTS/,
  },
  {
    what: "Patroni timings that break its rule",
    env: {
      HA_MODE: "patroni",
      HA_ETCD_HOSTS: "etcd:2379",
      REPLICATION_PASSWORD: replicationPassword,
      HA_TTL: "20",
      HA_LOOP_WAIT: "10",
      HA_RETRY_TIMEOUT: "10",
    },
    names: "HA_LOOP_WAIT=10, HA_RETRY_TIMEOUT=10, HA_TTL=20",
    line: /break Patroni's rule HA_LOOP_WAIT \+ 2 x HA_RETRY_TIMEOUT <= HA_TTL.*Fix: raise HA_TTL to at least 30/,
  },
  {
    what: "an etcd address left over without HA_MODE",
    env: { HA_ETCD_HOSTS: "etcd:2379" },
    names: 'HA_ETCD_HOSTS="etcd:2379"',
    line: /is set, but HA_MODE is off, so no Patroni runs to use it\. Fix: set HA_MODE=patroni/,
  },
  {
    what: "HA_MODE=patroni on the image without Patroni",
    env: { HA_MODE: "patroni", HA_ETCD_HOSTS: "etcd:2379", REPLICATION_PASSWORD: replicationPassword },
    names: "HA_MODE=patroni",
    line: /needs Patroni, which this image does not have\. Fix: use the image's ha target/,
  },
];

/** The volume: PGDATA, certificates, the runtime's records. */
const volumePath = "/var/lib/postgresql";

describe.concurrent("@config-errors @bad-input invalid configuration stops the container before it touches anything #bad-input", () => {
  let bucket: BucketConfig;
  const volume = `config-errors-${randomBytes(4).toString("hex")}`;
  let before: { files: TreeDigest | null; objects: Record<string, string> };

  it.beforeAll(async ({ bed }) => {
    bucket = await bed.s3.createBucket("config-errors");
    // Something to touch: a database with its stanza and first full backup, then stopped.
    const primary = await bed.primary(bucket).withDataVolume(volume).start();
    await primary.waitForBackups("full");
    await primary.stop();
    const untouched = new OneShotContainer(bed.image).withEntrypoint("true").withVolume(volume, volumePath).withDigest(volumePath);
    before = { files: (await untouched.run()).digests[volumePath], objects: await bed.s3.objectDigests(bucket.name) };
    expect(Object.keys(before.files ?? {})).toContain("18/docker/PG_VERSION");
    expect(Object.keys(before.objects).some((k) => k.includes("/backup/main/"))).toBe(true);
  });

  it.afterAll(async () => {
    await removeVolume(volume);
  });

  it("has at least 40 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it("would see a write: a file created in /etc/pgbackrest shows in the container's layer writes", async ({ bed, expect }) => {
    const probe = await new OneShotContainer(bed.image)
      .withEntrypoint("sh")
      .withCommand(["-c", "touch /etc/pgbackrest/probe"])
      .withVolume(volume, volumePath)
      .withLayerWrites()
      .run();
    expect(probe.layerWrites).toContain("A /etc/pgbackrest/probe");
  });

  it.for(cases)("refuses $what", async ({ env, files, names, line, secrets = [] }, { bed, expect }) => {
    const valid: Record<string, string | undefined> = { POSTGRES_PASSWORD: "pw", PGBACKREST_STANZA: "main", ...bucket.env };
    const merged = Object.fromEntries(Object.entries({ ...valid, ...env }).filter((e): e is [string, string] => e[1] !== undefined));
    const container = new OneShotContainer(bed.image)
      .withNetwork(bed.network.getName())
      .withEnvironment(merged)
      .withVolume(volume, volumePath)
      .withDigest(volumePath)
      .withLayerWrites()
      .withFile(bucket.caFile.target, bucket.caFile.content);
    for (const [path, content] of Object.entries(files ?? {})) container.withFile(path, content);
    const result = await container.run();

    expect(result.exitCode, result.output).toBe(78);
    expect(result.stdout, result.output).toBe("");
    const errorLines = result.stderr.split("\n").filter(Boolean);
    expect(errorLines, result.output).toHaveLength(1);
    const [errorLine] = errorLines;
    const named = typeof names === "function" ? names(bucket) : names;
    // The variable and the value (a secret by its length), the problem, then the fix.
    expect(errorLine.startsWith(`postgres-ba: configuration error: ${named}: `), errorLine).toBe(true);
    expect(errorLine).toMatch(line);
    expect(errorLine).toMatch(/\. Fix: .+\.$/);
    for (const secret of [bucket.env.S3_SECRET_KEY, ...secrets]) expect(result.output).not.toContain(secret);
    // Not one byte written: every file on the volume, the container's own filesystem and every object in the bucket as before.
    expect(result.digests[volumePath]).toEqual(before.files);
    expect(result.layerWrites).toEqual([]);
    expect(await bed.s3.objectDigests(bucket.name)).toEqual(before.objects);
  });
});
