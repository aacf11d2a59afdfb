/**
 * PostgreSQL clients for tests: TLS verified against the cluster's CA certificate (CA_DIR), never
 * against a file the server could have made from its own certificate.
 */
import { X509Certificate } from "node:crypto";
import pg from "pg";
import type { StartedTestContainer } from "testcontainers";

/** The generated CA's certificate (CA_DIR's default): the trust anchor of every member. */
export const containerCaCert = "/var/lib/postgresql/ca/ca.crt";

export interface Credentials {
  user: string;
  password?: string;
  database: string;
}

/**
 * The CA a container generated on first start; clients verify the server with it. It must be a
 * CA certificate (basicConstraints CA:TRUE): a self-signed server certificate offered as its
 * own "CA" would otherwise verify, and the scenario would prove nothing about the chain.
 */
export async function rootCertOf(container: StartedTestContainer): Promise<string> {
  const r = await container.exec(["cat", containerCaCert]);
  if (r.exitCode !== 0) throw new Error(`cannot read ${containerCaCert}: ${r.output}`);
  if (!new X509Certificate(r.output).ca)
    throw new Error(`${containerCaCert} is not a CA certificate (basicConstraints CA:FALSE): refusing it as a trust anchor`);
  return r.output;
}

/** Connects with sslmode=verify-full (host name checked against the certificate: localhost). */
export async function connectVerified(container: StartedTestContainer, creds: Credentials, port = 5432): Promise<pg.Client> {
  const client = new pg.Client({
    host: container.getHost(),
    port: container.getMappedPort(port),
    ...creds,
    ssl: { ca: await rootCertOf(container), rejectUnauthorized: true, servername: "localhost" },
  });
  await client.connect();
  return client;
}

/** Runs one statement on a fresh verified connection and returns its rows. */
export async function queryVerified<R extends pg.QueryResultRow = Record<string, unknown>>(
  container: StartedTestContainer,
  creds: Credentials,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = await connectVerified(container, creds);
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}
