import { describe, expect, it } from "vitest";
import { parseEnv } from "../env/parse.js";
import { renderPostgresqlConf } from "../render/postgresql-conf.js";
import { parseControlData } from "./control-data.js";
import { classifyFailure, conninfo, forkSegments, scramVerifier, slotName, type Upstream } from "./replication.js";
import { newestArchivedTimeline } from "./repository.js";

const up: Upstream = {
  host: "db-primary",
  port: 5432,
  user: "replicator",
  password: "s3cret",
  sslmode: "verify-ca",
  caFile: "/var/lib/postgresql/ca/ca.crt",
  slot: "replica_1",
};

describe("replication helpers", () => {
  it("turns host names into slot names", () => {
    expect(slotName("Replica-1.example")).toBe("replica_1_example");
    expect(slotName("x".repeat(80))).toHaveLength(63);
  });

  it("builds a conninfo without the password, quoting like libpq", () => {
    const text = conninfo({ ...up, host: "it's" }, { passfile: "/p" });
    expect(text).toContain("host='it\\'s'");
    expect(text).toContain("sslmode='verify-ca' sslrootcert='/var/lib/postgresql/ca/ca.crt'");
    expect(text).toContain("passfile='/p'");
    expect(text).not.toContain("s3cret");
  });

  it("classifies libpq failures into what waiting can and cannot fix", () => {
    expect(classifyFailure('connection to server at "db" (10.0.0.2), port 5432 failed: FATAL:  password authentication failed for user "replicator"')).toBe(
      "credentials",
    );
    expect(classifyFailure('connection to server at "db" failed: SSL error: certificate verify failed')).toBe("certificate");
    expect(classifyFailure('server certificate for "primary" (and 2 other names) does not match host name "10.0.0.2"')).toBe("certificate");
    expect(classifyFailure('FATAL:  no pg_hba.conf entry for replication connection from host "10.0.0.3"')).toBe("refused");
    expect(classifyFailure('could not translate host name "nowhere" to address: Name or service not known')).toBe("unreachable");
    expect(classifyFailure("connection refused")).toBe("unreachable");
    expect(classifyFailure("FATAL:  the database system is starting up")).toBe("unreachable");
  });

  it("computes SCRAM-SHA-256 verifiers PostgreSQL can store", () => {
    const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
    const v = scramVerifier("pencil", salt);
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    expect(scramVerifier("pencil", salt)).toBe(v);
    expect(scramVerifier("pencil")).not.toBe(v);
  });

  it("finds the newest archived timeline of one cluster only", () => {
    const archives = [
      { systemId: "111", max: "000000020000000000000009" },
      { systemId: "222", max: "000000050000000000000001" },
      { systemId: "111", max: null },
    ];
    expect(newestArchivedTimeline(archives, "111")).toBe(2);
    expect(newestArchivedTimeline(archives, "333")).toBeUndefined();
    expect(newestArchivedTimeline([], "111")).toBeUndefined();
  });

  it("names the segments where the timelines after a backup's began, on the timeline recovery reads each from", () => {
    const mb16 = 16 * 1024 * 1024;
    // Timeline 2 began in segment 3, timeline 3 in segment 0x1A of the next 4 GB.
    const history = "1\t0/3045178\tbefore 2026-12-07 02:11:44.1+00\n\n2\t1/A0000A0\tno recovery target specified\n";
    expect(forkSegments(history, 3, 1, mb16)).toEqual(["000000020000000000000003", "00000003000000010000000A"]);
    // A backup on timeline 2 needs only timeline 3's beginning.
    expect(forkSegments(history, 3, 2, mb16)).toEqual(["00000003000000010000000A"]);
    // Two forks in one segment: that segment is read from the newer timeline only.
    expect(forkSegments("1\t0/3000100\tx\n2\t0/3000800\ty\n", 3, 1, mb16)).toEqual(["000000030000000000000003"]);
    // Timeline 2 abandoned: the chain goes from 1 to 3.
    expect(forkSegments("1\t0/5000000\tx\n", 3, 1, mb16)).toEqual(["000000030000000000000005"]);
    expect(forkSegments("", 1, 1, mb16)).toEqual([]);
  });

  it("reads pg_controldata", () => {
    const text =
      "Database system identifier:           7441234567890123456\nDatabase cluster state:               shut down\nLatest checkpoint's TimeLineID:       3\n";
    expect(parseControlData(text)).toEqual({ systemId: "7441234567890123456", timeline: 3, state: "shut down" });
  });

  it("renders a standby's settings and a synchronous restore_command", () => {
    const env = parseEnv({
      PG_MODE: "replica",
      PRIMARY_HOST: "db-primary",
      REPLICATION_PASSWORD: "x",
      PGBACKREST_STANZA: "main",
      S3_BUCKET: "backups",
      S3_ACCESS_KEY: "k",
      S3_SECRET_KEY: "s",
    });
    const conf = renderPostgresqlConf(env, "pgbackrest", { primaryConninfo: "host='db-primary'", slot: "replica_1" });
    expect(conf).toContain("primary_conninfo = 'host=''db-primary'''");
    expect(conf).toContain("primary_slot_name = 'replica_1'");
    expect(conf).toContain("wal_log_hints = on");
    expect(conf).toMatch(/restore_command = '.*--no-archive-async archive-get %f "%p"'/);
  });
});
