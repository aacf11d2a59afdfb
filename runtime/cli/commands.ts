/**
 * `postgres-ba <command>`: what users run with `docker exec`. Every command re-reads the
 * container's environment (the one source of configuration) and runs as postgres.
 */
import { backupsEnabled, parseEnv, pgbackrestOptions, repositories, repositoryWording, type BackupEnv } from "../env/parse.js";
import { describesRepository, type Env, envTable, secondRepositoryName, type EnvVar } from "../env/table.js";
import { initBackups, takeBackup } from "../lib/backups.js";
import { exitCodes } from "../lib/exit-codes.js";
import { failureReason, pgbackrest, type BackupType } from "../lib/pgbackrest.js";
import { patroniCluster, patroniGet, patroniRequest } from "../lib/patroni.js";
import { currentTimeline, type PromotionRecord, readPromotion } from "../lib/promotion.js";
import { inRecovery, psql } from "../lib/postgres.js";
import { isStandbyData } from "../lib/replication.js";
import { readStanza } from "../lib/repository.js";
import { restoreDrill } from "../lib/restore-drill.js";
import { backupState } from "../lib/state.js";
import { gatherStatus, renderStatus } from "../lib/status.js";
import { trustStore } from "../lib/store-probe.js";
import { haCommands } from "./ha-commands.js";
import { FatalError, RepositoryError } from "../errors.js";

export interface Command {
  usage: string;
  summary: string;
  run(args: string[]): Promise<number>;
}

function backupEnv(): BackupEnv {
  const env = parseEnv(process.env);
  if (!backupsEnabled(env)) {
    throw new FatalError(
      "backups are not configured: PGBACKREST_STANZA is not set (drop-in mode). Fix: set PGBACKREST_STANZA and the repository's variables, then recreate the container.",
      exitCodes.usage,
    );
  }
  return env;
}

/** For commands that write to the repository: not a restore-only clone, not a standby. */
function writableBackupEnv(): BackupEnv {
  const env = backupEnv();
  if (env.REPO_READ_ONLY)
    throw new FatalError(
      "REPO_READ_ONLY=true: this container only restores from the repository and never writes to it. Fix: unset REPO_READ_ONLY.",
      exitCodes.usage,
    );
  if (isStandbyData(env.PGDATA)) {
    throw new FatalError(
      `this container is a standby of ${env.PRIMARY_HOST ?? "its primary"}: backups are taken by the primary. Fix: run the command there, or promote this one first (postgres-ba promote)`,
      exitCodes.usage,
    );
  }
  return env;
}

/**
 * The running container finishes a promotion (it notices any); waits for its record and prints
 * it, or stops when `gone` names a reason the record will not come.
 */
async function promotionOutcome(env: Env, ours: (record: PromotionRecord) => boolean, gone?: () => Promise<string | undefined>): Promise<number> {
  for (;;) {
    const record = readPromotion(env.PGDATA);
    if (record && ours(record)) {
      (record.ok ? console.log : console.error)(record.detail);
      return record.ok ? 0 : exitCodes.failure;
    }
    const reason = await gone?.();
    if (reason) throw new FatalError(reason, exitCodes.failure);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * HA_MODE=patroni: `promote` asks Patroni to make this member the leader, a switchover when the
 * cluster has one (it hands over cleanly) or a failover when it has none, then waits for this
 * container's check and full backup on the new timeline, as outside HA mode. In synchronous
 * mode a failover goes only to the synchronous standby: another could lack acknowledged commits.
 */
async function switchoverHere(env: Env): Promise<number> {
  const me = env.HA_MEMBER_NAME;
  const members = await patroniCluster(env);
  const leader = members.find((m) => m.role === "leader")?.name;
  if (leader === me) {
    console.log(`${me} is already the leader of ${env.HA_SCOPE}: nothing to do`);
    return 0;
  }
  // The live state, not HA_SYNCHRONOUS_MODE (which applies only when the cluster is bootstrapped).
  const synchronous = members.filter((m) => m.role === "sync_standby").map((m) => m.name);
  if (!leader && synchronous.length && !synchronous.includes(me)) {
    throw new FatalError(
      `cluster ${env.HA_SCOPE} has no leader and ${me} is not its synchronous standby: a failover to it could lose acknowledged commits. ` +
        "Fix: run postgres-ba promote in the synchronous standby (postgres-ba status lists the members and their roles)",
      exitCodes.failure,
    );
  }
  const started = Date.now();
  const action = leader ? "switchover" : "failover";
  const answer = await patroniRequest(env, "POST", `/${action}`, { ...(leader ? { leader } : {}), candidate: me }, 120_000);
  if (answer.status !== 200) throw new FatalError(`Patroni did not complete the ${action} to ${me} (HTTP ${answer.status}): ${answer.text}`, exitCodes.failure);
  // "Switched over to "b" instead of "a"": another member took the lead.
  if (!answer.text.includes(`"${me}"`) || /instead of/.test(answer.text))
    throw new FatalError(`Patroni answered: ${answer.text}; ${me} is not the leader`, exitCodes.failure);
  console.log(`${answer.text} (${action} in ${((Date.now() - started) / 1000).toFixed(1)} s); the container now checks the stanza and takes a full backup`);
  if (!backupsEnabled(env)) return 0;
  return promotionOutcome(
    env,
    (record) => Date.parse(record.at) >= started,
    async () => {
      const now = await patroniGet(env, "/primary").catch(() => undefined);
      return now && now.status !== 200 ? `${me} lost the leadership before its check and full backup were done; see the container log` : undefined;
    },
  );
}

export const commands: Record<string, Command> = {
  "init-backups": {
    usage: "init-backups",
    summary: "Create the stanza and take the first full backup (for a database this image did not create); the schedule then runs it.",
    async run() {
      const env = writableBackupEnv();
      if (backupState(env.PGDATA, env.PGBACKREST_STANZA) === "active") {
        console.log(`stanza ${env.PGBACKREST_STANZA} is already active for this database: nothing to do`);
        return 0;
      }
      await initBackups(env);
      console.log(`stanza ${env.PGBACKREST_STANZA} created and first full backup taken; scheduled backups will run`);
      return 0;
    },
  },
  promote: {
    usage: "promote",
    summary:
      "Make this replica a writable primary for good (with HA_MODE=patroni: a switchover to this member); returns once the stanza accepts the new timeline and a full backup is taken.",
    async run() {
      const env = parseEnv(process.env);
      if (env.HA_MODE === "patroni") return switchoverHere(env);
      if (!(await inRecovery(env))) {
        console.log(`already a writable primary on timeline ${await currentTimeline(env)}: nothing to do`);
        return 0;
      }
      // Only a container started as a standby watches for its promotion (a paused restore does not).
      const watched = isStandbyData(env.PGDATA);
      const started = Date.now();
      if ((await psql(env, "SELECT pg_promote(true, 60);")) !== "t")
        throw new FatalError("pg_promote did not finish within 60 s; see the container log", exitCodes.failure);
      const timeline = await currentTimeline(env);
      console.log(
        `promoted in ${((Date.now() - started) / 1000).toFixed(2)} s: writable primary on timeline ${timeline}${watched ? "; the container now checks the stanza and takes a full backup" : ""}`,
      );
      if (!watched) return 0;
      // Keyed by timeline; a record written since we started counts too (it failed before reading one).
      return promotionOutcome(env, (record) => record.timeline === timeline || Date.parse(record.at) >= started);
    },
  },
  backup: {
    usage: "backup full|diff|incr",
    summary: "Take a backup now.",
    async run([type]) {
      if (!["full", "diff", "incr"].includes(type))
        throw new FatalError(`backup type ${JSON.stringify(type ?? "")} is not one of full, diff, incr. Fix: postgres-ba backup full`, exitCodes.usage);
      await takeBackup(writableBackupEnv(), type as BackupType);
      return 0;
    },
  },
  info: {
    usage: "info [--json]",
    summary: "Backups in the repository (pgbackrest info).",
    async run(args) {
      const result = await pgbackrest(backupEnv(), ["info", ...(args.includes("--json") ? ["--output=json"] : [])], { stream: true });
      return result.code;
    },
  },
  status: {
    usage: "status [--json]",
    summary: "Last backups with age and size, WAL archiving, repository, schedule. Exit 2 on a problem (a monitoring probe).",
    async run(args) {
      const status = await gatherStatus(backupEnv());
      console.log(args.includes("--json") ? JSON.stringify(status, null, 2) : renderStatus(status));
      return status.problems.length ? exitCodes.probe : 0;
    },
  },
  check: {
    usage: "check",
    summary:
      "The S3 store serves what pgBackRest relies on (read after write, listing, ranged read), the repository answers (any REPO_TYPE), then pgbackrest check: WAL archiving works.",
    async run() {
      const env = writableBackupEnv();
      const unusable = (e: unknown) => {
        throw e instanceof RepositoryError ? new FatalError(e.message, exitCodes.repository) : e;
      };
      for (const repository of repositories(env)) {
        const named = env.secondRepository ? `repository ${repository.index}: ` : "";
        const verdict = await trustStore(repository.settings).catch((e) =>
          unusable(e instanceof RepositoryError ? new RepositoryError(repositoryWording(repository, e.message)) : e),
        );
        console.log(
          named +
            repositoryWording(
              repository,
              "skipped" in verdict
                ? `store probe: skipped (${verdict.skipped})`
                : `store probe: read after write ok, listing ok, ranged read ${verdict.probe.rangedRead ? "ok" : `wrong (${verdict.probe.details.join("; ")}), unused: bundling and block incremental are off`}`,
            ),
        );
        // Where the probe does not run (Azure, a directory), its refusal line comes from reading the
        // repository: pgbackrest check would first complain about archive_command on a stanza not yet created.
        await readStanza(env, { repo: repository.index }).catch(unusable);
      }
      return (await pgbackrest(env, ["check"], { stream: true })).code;
    },
  },
  verify: {
    usage: "verify [--restore]",
    summary:
      "pgbackrest verify: every backup and WAL file is intact. --restore: restore the newest backup into a scratch directory, start it privately, query it, remove it.",
    async run(args) {
      if (!args.includes("--restore")) return (await pgbackrest(backupEnv(), ["verify"], { stream: true })).code;
      const drill = await restoreDrill(backupEnv());
      (drill.ok ? console.log : console.error)(drill.summary);
      return drill.ok ? 0 : exitCodes.failure;
    },
  },
  pgbackrest: {
    usage: "pgbackrest <pgbackrest arguments>",
    summary: "Run pgBackRest for the configured stanza with the repository credentials.",
    async run(args) {
      const result = await pgbackrest(backupEnv(), args, { stream: true });
      if (result.code !== 0) console.error(failureReason(result));
      return result.code;
    },
  },
  env: {
    usage: "env",
    summary: "The effective configuration (secrets masked), then the PGBACKREST_* options passed to pgBackRest.",
    async run() {
      const env = parseEnv(process.env);
      const show = (name: string, e: EnvVar, value: unknown) =>
        console.log(`${name}=${value === undefined ? "" : e.secret ? "<set>" : value === null ? "off" : String(value)}`);
      for (const e of envTable as readonly EnvVar[]) show(e.name, e, (env as Record<string, unknown>)[e.name]);
      // The second repository's settings (REPO2_TYPE's own is above).
      const second = env.secondRepository as Record<string, unknown> | undefined;
      if (second) {
        for (const e of (envTable as readonly EnvVar[]).filter((x) => describesRepository(x) && x.name !== "REPO_TYPE"))
          show(secondRepositoryName(e.name), e, second[e.name]);
      }
      for (const o of pgbackrestOptions(process.env)) console.log(`${o.variable}=${o.secret ? "<set>" : o.value}  # pgBackRest ${o.option}`);
      return 0;
    },
  },
  ...haCommands,
};
