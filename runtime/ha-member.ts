/**
 * HA_MODE=patroni: the container is one member of a Patroni cluster. Patroni decides what the
 * data directory becomes (the first member bootstraps it with `postgres-ba ha-bootstrap`, the
 * others clone it from the repository or the leader, an old leader rejoins with pg_rewind) and
 * owns PostgreSQL's start, stop and promotion. The runtime keeps what it owns in the single-server
 * path: the lock, directories, pgBackRest's configuration and TLS before Patroni starts; then,
 * under one supervisor, a watch of Patroni's role that runs the backup services on the leader only.
 */
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupsEnabled, prereadSecretFileContents, prereadSecretFiles } from "./env/parse.js";
import type { Env } from "./env/table.js";
import { run } from "./lib/exec.js";
import { exitCodes } from "./lib/exit-codes.js";
import { log, logError, logReport, logStrayErrors } from "./lib/log.js";
import { type PatroniMember, patroniGet, podNamespace, readLeaderTimeline, recordLeaderTimeline, storeName } from "./lib/patroni.js";
import { isReady } from "./lib/postgres.js";
import { completePromotion, currentTimeline } from "./lib/promotion.js";
import { clearReady, markReady, releaseStartupGarbage } from "./lib/readiness.js";
import { runPatroni } from "./lib/server.js";
import { restoreMarkerPath, writeJsonAtomic } from "./lib/state.js";
import { type Service, Supervisor, sleep } from "./lib/supervisor.js";
import { becomeAccount, isRoot } from "./lib/user.js";
import { pgbackrestChildEnv } from "./render/pgbackrest-conf.js";
import { entrypointEnvPath, patroniConfPath, renderPatroniConf } from "./render/patroni-conf.js";
import { describeServer, startBackupServices } from "./services.js";
import { configurePgbackrest } from "./steps/configure-pgbackrest.js";
import { ensureTls } from "./steps/ensure-tls.js";
import { prepareDirectories } from "./steps/prepare-directories.js";
import { type Context, did, runStep, skipped, type Step } from "./steps/step.js";
import { verifyMinimumEnv } from "./steps/verify-minimum-env.js";
import { ConfigError, FatalError } from "./errors.js";

/** Where Kubernetes mounts a pod's service account token (Patroni's in-cluster sign-in). */
const serviceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** How often the member asks Patroni for its role. */
const roleIntervalMs = 1000;

/** Before anything is written: Patroni is installed, its store can be signed in to, and the server's arguments can reach it. */
export const checkPatroni: Step = {
  name: "check-patroni",
  async run(ctx) {
    const version = await run("patroni", ["--version"], { timeoutMs: 30_000 }).catch(() => undefined);
    if (version?.code !== 0) {
      throw new ConfigError(
        "HA_MODE=patroni",
        "needs Patroni, which this image does not have",
        "use the image's ha target (docker build --target ha -t postgres-pgbackrest:ha image/), or unset HA_MODE",
      );
    }
    if (ctx.env.HA_STORE === "kubernetes" && !existsSync(serviceAccountToken)) {
      throw new ConfigError(
        "HA_STORE=kubernetes",
        `needs the pod's service account token (${serviceAccountToken}), which Patroni signs in to the Kubernetes API with, and this container has none`,
        "give the pod a service account with its token mounted (automountServiceAccountToken: true; deploy/kubernetes/base), or HA_STORE=etcd3 with HA_ETCD_HOSTS",
      );
    }
    patroniConfFor(ctx);
    return did(version.stdout.trim());
  },
};

/**
 * A bootstrap from a backup is unfinished until the restored server leads (the marker beside
 * PGDATA; ha-commands.ts writes it, leaderService removes it): Patroni would start whatever PGDATA
 * holds, so a restart before then stops here, read-only, before the store is even asked.
 */
export const checkBootstrapFinished: Step = {
  name: "check-bootstrap-finished",
  run({ env }) {
    const unfinished = restoreMarkerPath(env.PGDATA);
    if (!existsSync(unfinished)) return skipped("no bootstrap from a backup unfinished here");
    const clearStore =
      env.HA_STORE === "kubernetes"
        ? `kubectl delete configmap -l cluster-name=${env.HA_SCOPE} in the pod's namespace`
        : `from any member: patronictl -c ${patroniConfPath} remove ${env.HA_SCOPE}`;
    throw new FatalError(
      `${unfinished} is there: this member's bootstrap of the cluster from a backup did not end in a leader (the restore was cut short, its recovery failed, or the container stopped before the restored server promoted: the previous run's log says which), and Patroni would start what PGDATA ${env.PGDATA} holds. ` +
        `Fix: empty this volume (or delete its claim) and clear the cluster's half-made state in the store (${clearStore}), then start again`,
      exitCodes.dataDirectory,
      "data-directory",
    );
  },
};

export async function haMember(ctx: Context): Promise<number> {
  const { env } = ctx;
  const conf = patroniConfFor(ctx);
  // Any member may be the one that initializes the cluster: the official image's check first.
  if (!ctx.hasDatabase()) await runStep(verifyMinimumEnv, ctx);
  // Read while still root: Patroni's children get copies (secretFileCopies).
  prereadSecretFiles(process.env);
  await runStep(prepareDirectories, ctx);
  if (isRoot()) becomeAccount(ctx.account);
  for (const step of [configurePgbackrest, ensureTls, configurePatroni(conf)]) await runStep(step, ctx);

  logStrayErrors();

  clearReady();
  writeJsonAtomic(entrypointEnvPath, { ...process.env, ...secretFileCopies() });
  const childEnv = backupsEnabled(env) ? pgbackrestChildEnv(env, process.env) : {};
  const patroni = runPatroni(env, patroniConfPath, childEnv);
  const supervisor = new Supervisor(logReport);
  void supervisor.start(roleWatchService(env));
  const status = await patroni.exited;
  supervisor.stop();
  log("entrypoint", `Patroni exited with status ${status}`);
  return status;
}

/** Writes patroni.yml (rendered before anything was touched, so bad input is refused first). */
function configurePatroni(conf: string): Step {
  return {
    name: "configure-patroni",
    run({ env }) {
      writeFileSync(patroniConfPath, conf, { mode: 0o600 });
      return did(
        `${patroniConfPath} written: member ${env.HA_MEMBER_NAME} of ${env.HA_SCOPE}, store ${storeName(env)}${env.HA_STORE === "etcd3" ? ` over ${env.HA_ETCD_PROTOCOL}` : ""}, ` +
          `ttl ${env.HA_TTL} s, synchronous mode ${env.HA_SYNCHRONOUS_MODE}, failsafe ${env.HA_FAILSAFE_MODE ? "on" : "off"}`,
      );
    },
  };
}

/** patroni.yml, or one line on server arguments Patroni cannot pass on. */
function patroniConfFor({ env, serverArgs }: Context): string {
  try {
    return renderPatroniConf(env, serverArgs, podNamespace());
  } catch (e) {
    throw new ConfigError("the server's arguments", (e as Error).message, "pass settings as -c name=value, or set them with ALTER SYSTEM");
  }
}

/**
 * Secrets given as files only root may read (compose secrets): `postgres-ba ha-bootstrap`, which
 * Patroni runs as postgres, reads them again, so it gets copies only postgres can read, in the
 * configuration's own directory, and _FILE variables pointing at them.
 */
function secretFileCopies(): Record<string, string> {
  const copies: Record<string, string> = {};
  for (const [variable, content] of prereadSecretFileContents(process.env)) {
    const copy = join(patroniConfPath, "..", variable.toLowerCase());
    writeFileSync(copy, content, { mode: 0o600 });
    copies[variable] = copy;
  }
  return copies;
}

/** Consecutive unanswered role checks after which this member stops acting as the leader. */
const unansweredLimit = 3;

/**
 * Follows Patroni's role: the ready marker once PostgreSQL serves in any role, and the leader's
 * services (first backup, schedule, drills, metrics, alerts) only while this member holds the
 * leader lock (GET /primary answers 200, the issue's gate); they stop when it does not, or when
 * Patroni has not answered three times in a row. A new leader's services start only once the
 * previous term's have ended (a demotion in the middle of a promotion's backup does not start a
 * second one beside it).
 */
function roleWatchService(env: Env): Service {
  let leading: Supervisor | undefined;
  let previousTerm: Promise<void> = Promise.resolve();
  let lastRole: string | undefined;
  let unanswered = 0;
  return {
    name: "ha-role",
    async run(signal) {
      try {
        while (!signal.aborted) {
          const answer = await patroniGet<PatroniMember>(env, "/primary").catch((e: Error) => {
            if (++unanswered === unansweredLimit) logError("ha", `Patroni's REST API does not answer: ${e.message}`);
            return undefined;
          });
          if (answer) unanswered = 0;
          const running = answer?.body?.state === "running";
          // Patroni answers 200 as soon as it holds the lock, before its fence and pg_ctl promote
          // have run: a replica with the lock is about to lead, neither started nor stopped yet.
          const promoting = answer?.status === 200 && answer.body?.role !== "primary";
          const leads = answer?.status === 200 && running && !promoting;
          const role = leads ? "leader" : running && !promoting ? answer?.body?.role : undefined;
          if (role && role !== lastRole && (await isReady(env))) {
            markReady((await describeServer(env)).description);
            log("ha", `this member is the ${role} on timeline ${answer?.body?.timeline ?? "?"}`);
            if (lastRole === undefined) releaseStartupGarbage();
            lastRole = role;
          }
          if (leads && !leading) {
            const term = new Supervisor(logReport);
            leading = term;
            previousTerm = previousTerm.then(() => (term.signal.aborted ? undefined : term.start(leaderService(env, term))));
          } else if (!leads && !promoting && leading && (answer !== undefined || unanswered >= unansweredLimit)) {
            leading.stop();
            leading = undefined;
            lastRole = undefined;
            log("ha", "not the leader now: backups, schedule and metrics stopped here");
          }
          await sleep(roleIntervalMs, signal);
        }
      } finally {
        // A restarted watch starts the leader's services again if this member still leads.
        leading?.stop();
        leading = undefined;
        lastRole = undefined;
      }
    },
  };
}

function leaderService(env: Env, leading: Supervisor): Service {
  return {
    name: "ha-leader",
    async run(signal) {
      // A bootstrap from a backup has ended in a writable leader: nothing is unfinished now.
      rmSync(restoreMarkerPath(env.PGDATA), { force: true });
      const timeline = await currentTimeline(env);
      const ledBefore = readLeaderTimeline(env.PGDATA);
      // Only the member that bootstrapped the cluster leads timeline 1 without having led before:
      // it takes the first backup as any new database does. Any other leader on a timeline it has
      // not led was promoted (a failover or switchover): CHECKPOINT, `pgbackrest check` and a full
      // backup on the same stanza, or the stanza's bootstrap if it was cloned before the first backup.
      const bootstrapped = ledBefore === undefined && timeline === 1;
      const promoted = !bootstrapped && ledBefore !== timeline;
      if (promoted) await completePromotion(env);
      // The promotion's check and backup are done (or recorded as failed, for the schedule to
      // retry): a next term on this timeline does not repeat them, even after a demotion meanwhile.
      recordLeaderTimeline(env.PGDATA, timeline);
      if (!signal.aborted) startBackupServices(env, leading, promoted);
    },
  };
}
