/**
 * postgres-ba: the container's entrypoint (`postgres-ba entrypoint postgres ...`, called by
 * docker-entrypoint.sh) and the command users run with `docker exec`. Importing any other module
 * has no side effects; this file is the only one that acts.
 */
import { commands } from "./cli/commands.js";
import { ensureInitdb } from "./ensure-initdb.js";
import { entrypoint } from "./entrypoint.js";
import { etcdMember } from "./etcd-member.js";
import { prereadSecretFiles } from "./env/parse.js";
import { exitCodes } from "./lib/exit-codes.js";
import { logError } from "./lib/log.js";
import { deliveriesSettled } from "./lib/notify.js";
import { becomeAccount, isRoot, postgresAccount, providePasswdEntry } from "./lib/user.js";
import { ConfigError, FatalError } from "./errors.js";

function usage(): string {
  const all = [
    ...Object.values(commands),
    { usage: "entrypoint [postgres args]", summary: "Run the container lifecycle (the image's entrypoint)." },
    { usage: "ensure-initdb [postgres args]", summary: "Initialize an empty PGDATA as the entrypoint would, then exit (docker-ensure-initdb.sh)." },
    { usage: "enforce-initdb [postgres args]", summary: "The same, but refuse a PGDATA that already holds a database (docker-enforce-initdb.sh)." },
    {
      usage: "etcd [etcd flags]",
      summary: "Run an etcd member for HA_MODE=patroni (the ha target): TLS with the cluster CA, data in /var/lib/postgresql/etcd.",
    },
  ];
  return `usage:\n${all.map((c) => `  postgres-ba ${c.usage.padEnd(36)} ${c.summary}`).join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  // A uid without a passwd entry (--user 1000650000:0): every child gets one through nss_wrapper.
  if (!isRoot()) providePasswdEntry(process.env.PGDATA ?? "/var/lib/postgresql");
  if (name === "entrypoint") return entrypoint(args);
  if (name === "ensure-initdb" || name === "enforce-initdb") return ensureInitdb(name, args);
  // Starts as root like the entrypoint: it prepares its directories before dropping to postgres.
  if (name === "etcd") return etcdMember(args);
  const command = name ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(name && !["help", "--help", "-h"].includes(name) ? `postgres-ba: unknown command ${JSON.stringify(name)}\n${usage()}` : usage());
    return name && !["help", "--help", "-h"].includes(name) ? exitCodes.usage : 0;
  }
  // pgBackRest 2.59+ refuses root, and files in PGDATA belong to postgres; secret files are
  // read first, as root, like the entrypoint reads them.
  if (isRoot()) {
    prereadSecretFiles(process.env);
    becomeAccount(postgresAccount());
  }
  return command.run(args);
}

/**
 * A command exits once its alerts are delivered, or after 8 s: enough for a delivery's three
 * attempts when each fails at once (1 s and 4 s apart), as a name lookup or a refused connection
 * does. The entrypoint exits at once (PostgreSQL has stopped, and the engine's stop timeout is running).
 */
const deliveryWaitMs = process.argv[2] === "entrypoint" ? 0 : 8000;
const exit = (code: number) => deliveriesSettled(deliveryWaitMs).then(() => process.exit(code));

main(process.argv.slice(2)).then(exit, (e: unknown) => {
  if (e instanceof ConfigError) {
    process.stderr.write(`postgres-ba: configuration error: ${e.message}\n`);
    return exit(exitCodes.config);
  }
  if (e instanceof FatalError) {
    logError(e.topic ?? process.argv[2] ?? "postgres-ba", e.message);
    return exit(e.exitCode);
  }
  logError(process.argv[2] ?? "postgres-ba", e instanceof Error ? e.message : String(e));
  return exit(exitCodes.failure);
});
