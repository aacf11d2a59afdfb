/** Runs pgBackRest for the configured stanza, with the S3 keys in its environment only. */
import type { BackupEnv, Repository } from "../env/parse.js";
import { pgbackrestChildEnv, singleRepositoryConfPath } from "../render/pgbackrest-conf.js";
import { run, type ExecOptions, type ExecResult } from "./exec.js";
import { sleep } from "./supervisor.js";

export type BackupType = "full" | "diff" | "incr";

/**
 * The real binary. /usr/local/bin/pgbackrest is the image's shim for people's `docker exec`
 * commands (it calls back into postgres-ba), so the runtime must not go through PATH.
 */
export const pgbackrestBinary = "/usr/bin/pgbackrest";

/**
 * restore_command for a server that recovers from this stanza. Synchronous archive-get: the
 * asynchronous one waits up to archive-timeout for segments that do not exist yet (a standby asks
 * for the next segment all the time, and a promotion then stalls), and its spool is shared by
 * every pgBackRest process in the container.
 */
export function archiveGetCommand(env: BackupEnv, pgPath = env.PGDATA): string {
  return `${pgbackrestBinary} --stanza=${env.PGBACKREST_STANZA} --pg1-path=${pgPath} --no-archive-async archive-get %f "%p"`;
}

/** The backup set a restore's console output names (log-level-console info). */
export function restoredBackupSet(stdout: string): string | undefined {
  return stdout.match(/restore backup set (\S+?),?\s/)?.[1];
}

/** Runs pgBackRest for the configured stanza (unless args name one already). */
export function pgbackrest(env: BackupEnv, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const stanza = args.some((a) => a === "--stanza" || a.startsWith("--stanza=")) ? [] : [`--stanza=${env.PGBACKREST_STANZA}`];
  const once = () =>
    run(pgbackrestBinary, [...stanza, ...args], {
      timeoutMs: 24 * 3600_000,
      ...opts,
      env: { ...opts.env, ...pgbackrestChildEnv(env, process.env) },
    });
  // Output streamed to a terminal is not repeated there (README: When S3 is down).
  return opts.stream ? once() : retryingNameResolution(args, once);
}

/** pgBackRest with one repository's configuration only (singleRepositoryConfPath): it as repo1, its keys alone. */
export function pgbackrestIn(env: BackupEnv, repository: Repository, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const once = () =>
    run(pgbackrestBinary, [`--config=${singleRepositoryConfPath(repository.index)}`, `--stanza=${env.PGBACKREST_STANZA}`, ...args], {
      timeoutMs: 600_000,
      ...opts,
      env: { ...opts.env, ...pgbackrestChildEnv(env, process.env, repository) },
    });
  return opts.stream ? once() : retryingNameResolution(args, once);
}

/**
 * pgBackRest retries a connection that fails, but not a name lookup that fails for the moment
 * (EAI_AGAIN, -3: a DNS server that did not answer in time): it gives up at once with
 * "[049] unable to get address for ...: [-3] ...". Such a run is repeated up to three times, after
 * 2, 4 and 8 s (Podman's DNS here left lookups unanswered for 20 s at a time). `info` exits 0
 * with the failure in its JSON (a repository's status 99): that counts too; any other command that
 * exits 0 has done its work (a backup that fell back from an unreachable standby says the lookup
 * failed in a WARN, and is not taken again). A name that does not exist, a refused connection or
 * any other failure is not repeated. A restore is never repeated here: its marker and resume logic
 * decide what a failed one means.
 */
export async function retryingNameResolution(args: readonly string[], runOnce: () => Promise<ExecResult>, pauseMs = 2000): Promise<ExecResult> {
  for (let attempt = 1; ; attempt++) {
    const result = await runOnce();
    const done = result.code === 0 && !args.includes("info");
    if (done || attempt === 4 || args.includes("restore") || !nameLookupPending.test(`${result.stdout}\n${result.stderr}`)) return result;
    await sleep(pauseMs * 2 ** (attempt - 1));
  }
}

const nameLookupPending = /unable to get address for '[^']*': \[-3\]/;

/** pgBackRest's words about a repository it ran through pgbackrestIn (as repo1), named by the repository's own index. */
export function inRepository(repository: Repository, text: string): string {
  return repository.index === 1 ? text : text.replace(/\brepo1\b/g, `repo${repository.index}`);
}

/**
 * pgBackRest's own reason for a failure: each ERROR line with the causes it indents beneath it
 * ("unable to load info file ...:" says why only on the lines below; its HINTs are left out),
 * else the last lines of output.
 */
export function failureReason(result: ExecResult): string {
  const text = `${result.stdout}\n${result.stderr}`;
  const errors: string[][] = [];
  let current: string[] | undefined;
  for (const line of text.split("\n")) {
    if (/ERROR: \[\d+\]/.test(line)) {
      current = [line.replace(/^.*?(ERROR: )/, "$1").trim()];
      errors.push(current);
    } else if (current && /^\s+\S/.test(line) && !/^\s+-{4}/.test(line)) {
      // At most three causes: an assertion's report for pgBackRest's issue tracker follows a line of dashes.
      const cause = line.trim();
      if (!cause.startsWith("HINT:") && !current.includes(cause) && current.length < 4) current.push(cause);
    } else current = undefined;
  }
  const lines = errors.length
    ? [...new Set(errors.map((e) => e.join(" ")))]
    : text
        .trim()
        .split("\n")
        .slice(-3)
        .map((l) => l.trim());
  return lines.join(" | ") || `exit code ${result.code}`;
}
