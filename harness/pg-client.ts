/** PostgreSQL clients for tests: TLS verified against the container's own CA unless asked otherwise. */
import pg from "pg";
import type { StartedTestContainer } from "testcontainers";

export const containerRootCert = "/var/lib/postgresql/ssl/root.crt";

export interface Credentials {
  user: string;
  password?: string;
  database: string;
}

/** The CA a container generated on first start; clients verify the server with it. */
export async function rootCertOf(container: StartedTestContainer): Promise<string> {
  const r = await container.exec(["cat", containerRootCert]);
  if (r.exitCode !== 0) throw new Error(`cannot read ${containerRootCert}: ${r.output}`);
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
