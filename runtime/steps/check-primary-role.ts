/**
 * Never two writable primaries on one stanza. Before a data directory starts as a primary:
 * - a standby's data (standby.signal) is refused under PG_MODE=primary: only a promotion turns
 *   a standby into a primary;
 * - when the repository already holds WAL of a newer timeline of this same cluster, another
 *   server was promoted after this one stopped: starting would fork the history, so it refuses
 *   and says how to rejoin. Read-only; an unreachable repository only warns (it must not keep a
 *   primary down during an S3 outage);
 * - a passphrase that does not fit the stanza's encryption (set for an unencrypted stanza, missing
 *   or wrong for an encrypted one) is refused: exit 78, one line.
 */
import { repositoryWritable, repositoryWritesOff } from "../env/parse.js";
import { controlData } from "../lib/control-data.js";
import { exitCodes } from "../lib/exit-codes.js";
import { isStandbyData } from "../lib/replication.js";
import { newestArchivedTimeline, readStanza, type StanzaState } from "../lib/repository.js";
import { did, skipped, type Step } from "./step.js";
import { EncryptionMismatchError, FatalError, RepositoryError } from "../errors.js";

export const checkPrimaryRole: Step = {
  name: "check-primary-role",
  // On a primary's data (the start path), or after a rejoin that left it a primary or a standby.
  // A standby started with PG_MODE=primary never gets here: the start path refuses it.
  async run({ env }) {
    if (isStandbyData(env.PGDATA)) return skipped("this data directory is a standby");
    if (!repositoryWritable(env)) return skipped(`${repositoryWritesOff(env)}`);
    const ours = await controlData(env.PGDATA);
    let stanza: StanzaState;
    try {
      stanza = await readStanza(env, { ioTimeoutSeconds: 10 });
    } catch (e) {
      // Readable, but not with this passphrase: archiving would fail from the first segment.
      if (e instanceof EncryptionMismatchError) throw new FatalError(e.message, exitCodes.config);
      if (!(e instanceof RepositoryError)) throw e;
      return skipped(`WARNING: repository not readable (${e.message}); timelines not compared`);
    }
    // One of two repositories that this passphrase does not fit: archiving would fail there from the first segment.
    const mismatch = stanza.repositories.find((r) => r.encryptionMismatch);
    if (mismatch?.error) throw new FatalError(mismatch.error, exitCodes.config);
    const newest = newestArchivedTimeline(stanza.archives, ours.systemId);
    if (newest !== undefined && newest > ours.timeline) {
      throw new FatalError(
        `stanza ${env.PGBACKREST_STANZA} holds WAL of timeline ${newest} of this cluster, newer than this data directory's timeline ${ours.timeline}: ` +
          "another server was promoted after this one stopped, and starting this one as a primary would make two writable primaries. " +
          "Fix: start this container with PG_MODE=replica and PRIMARY_HOST=<the new primary> (it rejoins with pg_rewind), or remove its volume",
        exitCodes.dataDirectory,
      );
    }
    return did(`primary on timeline ${ours.timeline}; the repository's newest timeline for this cluster is ${newest ?? "none yet"}`);
  },
};
