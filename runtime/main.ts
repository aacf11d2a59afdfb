/**
 * postgres-ba: the container's entrypoint (`postgres-ba entrypoint postgres ...`, called by
 * docker-entrypoint.sh) and the command users run with `docker exec`. Importing any other module
 * has no side effects; this file is the only one that acts.
 */
import { commands } from "./cli/commands.js";
import { entrypoint } from "./entrypoint.js";
import { ConfigError } from "./env/parse.js";
import { exitCodes } from "./lib/exit-codes.js";
import { logError } from "./lib/log.js";
import { becomeAccount, isRoot, postgresAccount } from "./lib/user.js";
import { FatalError } from "./steps/step.js";

function usage(): string {
  const all = [...Object.values(commands), { usage: "entrypoint [postgres args]", summary: "Run the container lifecycle (the image's entrypoint)." }];
  return `usage:\n${all.map((c) => `  postgres-ba ${c.usage.padEnd(36)} ${c.summary}`).join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === "entrypoint") return entrypoint(args);
  const command = name ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(name && !["help", "--help", "-h"].includes(name) ? `postgres-ba: unknown command ${JSON.stringify(name)}\n${usage()}` : usage());
    return name && !["help", "--help", "-h"].includes(name) ? exitCodes.usage : 0;
  }
  // pgBackRest 2.59+ refuses root, and files in PGDATA belong to postgres.
  if (isRoot()) becomeAccount(postgresAccount());
  return command.run(args);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof ConfigError) {
      process.stderr.write(`postgres-ba: configuration error: ${e.message}\n`);
      process.exit(exitCodes.config);
    }
    if (e instanceof FatalError) {
      logError(process.argv[2] ?? "postgres-ba", e.message);
      process.exit(e.exitCode);
    }
    logError(process.argv[2] ?? "postgres-ba", e instanceof Error ? e.message : String(e));
    process.exit(exitCodes.failure);
  },
);
