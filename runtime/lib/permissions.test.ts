import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseEnv } from "../env/parse.js";
import { mountPointOf, parseMountPoints, permissionProblem, type Probe, probePath, type Runner, writeNeeds } from "./permissions.js";

const env = parseEnv({ SERVER_NAME: "db" });
const backupEnv = parseEnv({ SERVER_NAME: "db", PGBACKREST_STANZA: "main", S3_BUCKET: "backups", S3_ACCESS_KEY: "AKIA", S3_SECRET_KEY: "very-secret-value" });
const files =
  (...present: string[]) =>
  (path: string) =>
    present.includes(path);
const paths = (needs: ReturnType<typeof writeNeeds>) => needs.map((n) => n.path);

const root: Runner = { uid: 0, gid: 0, root: true, owner: { uid: 999, gid: 999 } };
const user: Runner = { uid: 12345, gid: 0, root: false, owner: { uid: 12345, gid: 0 } };

/** A file system where `layout` says what exists (owner, access); anything else resolves to its nearest listed ancestor. */
function fs(layout: Record<string, Omit<Probe, "existing">>): (path: string) => Probe {
  return (path) => {
    for (let p = path; ; p = p.slice(0, p.lastIndexOf("/")) || "/") {
      if (layout[p]) return { existing: p, ...layout[p] };
      if (p === "/") throw new Error("no root in layout");
    }
  };
}
const ok = (uid = 999) => ({ uid, gid: uid, access: "ok" as const });

describe("writeNeeds: only where this start writes", () => {
  it("a first start writes PGDATA, the runtime directory, CA_DIR and SSL_CERT_DIR", () => {
    expect(paths(writeNeeds(env, files(), false))).toEqual([
      "/var/lib/postgresql/18/docker",
      "/var/lib/postgresql/18/.postgres-ba",
      "/var/lib/postgresql/ca",
      "/var/lib/postgresql/ssl",
    ]);
  });

  it("provided certificates (server.crt, root.crt, ca.crt without a key) need neither CA_DIR nor SSL_CERT_DIR writable", () => {
    const present = files("/var/lib/postgresql/ssl/server.crt", "/var/lib/postgresql/ssl/root.crt", "/var/lib/postgresql/ca/ca.crt");
    expect(paths(writeNeeds(env, present, true))).toEqual(["/var/lib/postgresql/18/docker", "/var/lib/postgresql/18/.postgres-ba"]);
  });

  it("SSL_CERT_DIR must take root.crt when only the CA has it; CA_DIR is only written to generate a CA", () => {
    const needs = writeNeeds(env, files("/var/lib/postgresql/ssl/server.crt", "/var/lib/postgresql/ca/ca.crt"), true);
    expect(needs.map((n) => `${n.label}: ${n.why}`)).toContain("SSL_CERT_DIR: root.crt is copied there from CA_DIR/ca.crt");
    expect(paths(needs)).not.toContain("/var/lib/postgresql/ca");
    // A CA with its key, no server certificate yet: the certificate is generated, the CA is not.
    expect(paths(writeNeeds(env, files("/var/lib/postgresql/ca/ca.crt", "/var/lib/postgresql/ca/ca.key"), false))).not.toContain("/var/lib/postgresql/ca");
  });

  it("with backups, pgBackRest's spool, log and configuration directories; the WAL directory only before initdb", () => {
    expect(paths(writeNeeds(backupEnv, files("/var/lib/postgresql/ssl/server.crt", "/var/lib/postgresql/ssl/root.crt"), true)).slice(2)).toEqual([
      "/var/spool/pgbackrest",
      "/var/log/pgbackrest",
      "/etc/pgbackrest",
    ]);
    const wal = parseEnv({ SERVER_NAME: "db", POSTGRES_INITDB_WALDIR: "/var/lib/postgresql/wal" });
    expect(paths(writeNeeds(wal, files(), false))).toContain("/var/lib/postgresql/wal");
    expect(paths(writeNeeds(wal, files(), true))).not.toContain("/var/lib/postgresql/wal");
  });
});

describe("permissionProblem: one line, which path, what to run", () => {
  const needs = writeNeeds(env, files(), false);

  it("says nothing when everything can be written", () => {
    expect(permissionProblem(needs, fs({ "/": ok(0), "/var/lib/postgresql": ok() }), root)).toBeUndefined();
  });

  it("a read-only volume: names PGDATA and the mount, asks for read-write", () => {
    const line = permissionProblem(needs, fs({ "/": ok(0), "/var/lib/postgresql": { uid: 999, gid: 999, access: "read-only" } }), root);
    expect(line).toBe(
      "PGDATA /var/lib/postgresql/18/docker does not exist and /var/lib/postgresql, where it would be created, is on a read-only mount (/var/lib/postgresql), but the server keeps its data there; nothing was changed. Fix: mount /var/lib/postgresql read-write.",
    );
  });

  it("a read-only, empty CA_DIR when a CA must be generated: names CA_DIR and the other way out", () => {
    const line = permissionProblem(
      needs,
      fs({ "/": ok(0), "/var/lib/postgresql": ok(), "/var/lib/postgresql/ca": { uid: 0, gid: 0, access: "read-only" } }),
      root,
    );
    expect(line).toMatch(
      /^CA_DIR \/var\/lib\/postgresql\/ca is on a read-only mount \(\/var\/lib\/postgresql\/ca\), but a CA must be generated .*Fix: mount \/var\/lib\/postgresql\/ca read-write, or provide ca.crt and ca.key in it, or server.crt and server.key in SSL_CERT_DIR/,
    );
  });

  it("--user on a volume owned by postgres: PGDATA not its own, one chown -R of the outermost path", () => {
    const layout = fs({
      "/": ok(0),
      "/var/lib/postgresql": { uid: 999, gid: 999, access: "ok" }, // 1777, as in the image
      "/var/lib/postgresql/18": { uid: 999, gid: 999, access: "denied" },
      "/var/lib/postgresql/18/docker": { uid: 999, gid: 999, access: "denied" },
    });
    const line = permissionProblem(needs, layout, user);
    expect(line).toBe(
      "running as 12345:0 (docker run --user): PGDATA /var/lib/postgresql/18/docker belongs to 999:999, and PostgreSQL runs only on a data directory of its own; " +
        "the runtime directory beside PGDATA /var/lib/postgresql/18/.postgres-ba cannot be created in /var/lib/postgresql/18 (owned by 999:999); nothing was changed. " +
        "Fix: chown -R 12345:0 /var/lib/postgresql/18 (as root, e.g. in a one-off container with the same volume), or run as their owner with --user 999:999.",
    );
  });

  it("--user with a writable PGDATA of its own passes; root never needs to own what it chowns", () => {
    const mine = fs({ "/": ok(0), "/var/lib/postgresql": ok(12345) });
    expect(permissionProblem(needs.slice(0, 2), mine, user)).toBeUndefined();
    const existing = fs({ "/": ok(0), "/var/lib/postgresql": ok(), "/var/lib/postgresql/18/docker": ok(12345) });
    expect(permissionProblem(needs.slice(0, 1), existing, root)).toBeUndefined();
    expect(permissionProblem(needs.slice(0, 1), existing, { ...user, uid: 4242, owner: { uid: 4242, gid: 0 } })).toMatch(
      /^running as 4242:0 .*belongs to 12345:12345.*chown -R 4242:0 \/var\/lib\/postgresql\/18\/docker /,
    );
  });

  it("a read-only mount is reported before ownership (its fix differs)", () => {
    const layout = fs({
      "/": ok(0),
      "/var/lib/postgresql": ok(),
      "/var/lib/postgresql/18/docker": ok(),
      "/var/lib/postgresql/ssl": { uid: 0, gid: 0, access: "read-only" },
    });
    expect(permissionProblem(needs, layout, user)).toMatch(/^SSL_CERT_DIR \/var\/lib\/postgresql\/ssl is on a read-only mount/);
  });
});

describe("the mount a fix is about", () => {
  const mountinfo = [
    "600 500 0:52 / / rw,relatime - overlay overlay rw",
    "601 600 8:1 /volumes/data/_data /var/lib/postgresql ro,relatime - ext4 /dev/sda1 rw",
    "602 601 8:1 /volumes/my\\040ca/_data /var/lib/postgresql/my\\040ca ro,relatime - ext4 /dev/sda1 rw",
  ].join("\n");

  it("is the innermost mount point holding the path, octal escapes decoded", () => {
    const mounts = parseMountPoints(mountinfo);
    expect(mounts).toEqual(["/", "/var/lib/postgresql", "/var/lib/postgresql/my ca"]);
    expect(mountPointOf("/var/lib/postgresql/18/docker", mounts)).toBe("/var/lib/postgresql");
    expect(mountPointOf("/var/lib/postgresql/my ca", mounts)).toBe("/var/lib/postgresql/my ca");
    expect(mountPointOf("/var/lib/postgresql-other", mounts)).toBe("/");
  });

  it("names that mount in a read-only refusal", () => {
    const layout = fs({ "/": ok(0), "/var/lib/postgresql/18/docker": { uid: 999, gid: 999, access: "read-only" } });
    const withMount = (path: string) => ({ ...layout(path), mount: "/var/lib/postgresql" });
    expect(permissionProblem(writeNeeds(env, files(), true), withMount, root)).toBe(
      "PGDATA /var/lib/postgresql/18/docker is on a read-only mount (/var/lib/postgresql), but the server keeps its data there; nothing was changed. Fix: mount /var/lib/postgresql read-write.",
    );
  });
});

describe("writeNeeds, in full", () => {
  const pgdata = { label: "PGDATA", path: "/var/lib/postgresql/18/docker", why: "the server keeps its data there", mustOwn: true };
  const runtime = {
    label: "the runtime directory beside PGDATA",
    path: "/var/lib/postgresql/18/.postgres-ba",
    why: "the runtime keeps its lock and records there",
    mustOwn: false,
  };

  it("a first start with backups and a WAL directory: every need, with why and the other way out", () => {
    const both = parseEnv({
      SERVER_NAME: "db",
      PGBACKREST_STANZA: "main",
      S3_BUCKET: "backups",
      S3_ACCESS_KEY: "AKIA",
      S3_SECRET_KEY: "s",
      POSTGRES_INITDB_WALDIR: "/srv/wal",
    });
    expect(writeNeeds(both, files(), false)).toEqual([
      pgdata,
      runtime,
      { label: "POSTGRES_INITDB_WALDIR", path: "/srv/wal", why: "initdb puts the WAL there", mustOwn: true },
      {
        label: "CA_DIR",
        path: "/var/lib/postgresql/ca",
        why: "a CA must be generated (no ca.crt there and no server.crt in SSL_CERT_DIR)",
        mustOwn: false,
        alternative: "provide ca.crt and ca.key in it, or server.crt and server.key in SSL_CERT_DIR /var/lib/postgresql/ssl and ca.crt in it",
      },
      {
        label: "SSL_CERT_DIR",
        path: "/var/lib/postgresql/ssl",
        why: "a server certificate must be generated (no server.crt there)",
        mustOwn: false,
        alternative: "provide server.crt, server.key and root.crt in it",
      },
      { label: "pgBackRest's spool", path: "/var/spool/pgbackrest", why: "WAL archiving queues segments there", mustOwn: false, inImage: true },
      { label: "pgBackRest's log directory", path: "/var/log/pgbackrest", why: "pgBackRest writes its logs there", mustOwn: false, inImage: true },
      {
        label: "pgBackRest's configuration directory",
        path: "/etc/pgbackrest",
        why: "pgbackrest.conf is written there at every start",
        mustOwn: false,
        inImage: true,
      },
    ]);
  });

  it("only the image's own directories blocked, for a uid outside group 0: run in group 0, not a chown", () => {
    const needs = [{ label: "pgBackRest's spool", path: "/var/spool/pgbackrest", why: "WAL archiving queues segments there", mustOwn: false, inImage: true }];
    const denied = () => ({ existing: "/var/spool/pgbackrest", uid: 999, gid: 0, access: "denied" as const, mount: "/" });
    expect(permissionProblem(needs, denied, { uid: 1000650000, gid: 1000650000, root: false, owner: { uid: 1000650000, gid: 1000650000 } })).toBe(
      "running as 1000650000:1000650000 (docker run --user): pgBackRest's spool /var/spool/pgbackrest is not writable (owned by 999:0); nothing was changed. Fix: run in group 0 (--user 1000650000:0), which the image's directories belong to, or as postgres.",
    );
  });

  it("a server certificate and a CA without root.crt: SSL_CERT_DIR takes root.crt, nothing else", () => {
    expect(writeNeeds(env, files("/var/lib/postgresql/ssl/server.crt", "/var/lib/postgresql/ca/ca.crt"), true)).toEqual([
      pgdata,
      runtime,
      {
        label: "SSL_CERT_DIR",
        path: "/var/lib/postgresql/ssl",
        why: "root.crt is copied there from CA_DIR/ca.crt",
        mustOwn: false,
        alternative: "provide root.crt (the CA certificate) in it",
      },
    ]);
  });

  it("a server certificate without root.crt and without a CA: nothing to copy, so no need", () => {
    expect(writeNeeds(env, files("/var/lib/postgresql/ssl/server.crt"), true)).toEqual([pgdata, runtime]);
  });
});

describe("permissionProblem, more cases", () => {
  const needs = writeNeeds(env, files(), false);

  it("a read-only mount without a known mount point names the path itself", () => {
    const layout = fs({ "/": ok(0), "/var/lib/postgresql": ok(), "/var/lib/postgresql/ssl": { uid: 0, gid: 0, access: "read-only" } });
    expect(permissionProblem(needs, layout, root)).toBe(
      "SSL_CERT_DIR /var/lib/postgresql/ssl is on a read-only mount (/var/lib/postgresql/ssl), but a server certificate must be generated (no server.crt there); nothing was changed. Fix: mount /var/lib/postgresql/ssl read-write, or provide server.crt, server.key and root.crt in it.",
    );
  });

  it("as root: directories it may not write, one chown -R each for paths not inside another, no --user advice", () => {
    const layout = fs({
      "/": ok(0),
      "/var/lib/postgresql": ok(),
      "/var/lib/postgresql/18": { uid: 70, gid: 70, access: "denied" },
      "/var/lib/postgresql/ca": { uid: 1000, gid: 1000, access: "denied" },
    });
    expect(permissionProblem(needs, layout, root)).toBe(
      "PGDATA /var/lib/postgresql/18/docker cannot be created in /var/lib/postgresql/18 (owned by 70:70); " +
        "the runtime directory beside PGDATA /var/lib/postgresql/18/.postgres-ba cannot be created in /var/lib/postgresql/18 (owned by 70:70); " +
        "CA_DIR /var/lib/postgresql/ca is not writable (owned by 1000:1000); nothing was changed. " +
        "Fix: chown -R 999:999 /var/lib/postgresql/18 /var/lib/postgresql/ca (as root, e.g. in a one-off container with the same volume).",
    );
  });

  it("--user: an existing PGDATA it owns but may not write is not writable, not someone else's", () => {
    const layout = fs({ "/": ok(0), "/var/lib/postgresql": ok(12345), "/var/lib/postgresql/18/docker": { uid: 12345, gid: 0, access: "denied" } });
    expect(permissionProblem(needs.slice(0, 1), layout, user)).toBe(
      "running as 12345:0 (docker run --user): PGDATA /var/lib/postgresql/18/docker is not writable (owned by 12345:0); nothing was changed. " +
        "Fix: chown -R 12345:0 /var/lib/postgresql/18/docker (as root, e.g. in a one-off container with the same volume), or run as their owner with --user 12345:0.",
    );
  });

  it("--user: a directory it need not own (the runtime directory) may belong to another user when writable", () => {
    const layout = fs({ "/": ok(0), "/var/lib/postgresql": ok(12345), "/var/lib/postgresql/18/.postgres-ba": ok(999) });
    expect(permissionProblem(needs.slice(1, 2), layout, user)).toBeUndefined();
  });

  it("--user: a PGDATA still to create under a writable directory of another owner passes, as does an existing one of its own", () => {
    expect(permissionProblem(needs.slice(0, 1), fs({ "/": ok(0), "/var/lib/postgresql": ok(999) }), user)).toBeUndefined();
    expect(
      permissionProblem(needs.slice(0, 1), fs({ "/": ok(0), "/var/lib/postgresql/18/docker": { uid: 12345, gid: 0, access: "ok" } }), user),
    ).toBeUndefined();
  });

  it("as root: an existing PGDATA of another owner that is not writable is not writable, not someone else's", () => {
    const layout = fs({ "/": ok(0), "/var/lib/postgresql/18/docker": { uid: 70, gid: 70, access: "denied" } });
    expect(permissionProblem(needs.slice(0, 1), layout, root)).toBe(
      "PGDATA /var/lib/postgresql/18/docker is not writable (owned by 70:70); nothing was changed. Fix: chown -R 999:999 /var/lib/postgresql/18/docker (as root, e.g. in a one-off container with the same volume).",
    );
  });

  it("a parent and its child blocked: one chown -R of the parent", () => {
    const layout = fs({
      "/": ok(0),
      "/var/lib/postgresql": { uid: 5, gid: 5, access: "denied" },
      "/var/lib/postgresql/ssl": { uid: 6, gid: 6, access: "denied" },
    });
    expect(permissionProblem(needs, layout, root)).toMatch(/Fix: chown -R 999:999 \/var\/lib\/postgresql \(as root/);
  });
});

describe("probePath, on this machine's file system", () => {
  const dir = mkdtempSync(join(tmpdir(), "probe-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("looks at the path itself when it exists", () => {
    const p = probePath(dir);
    const st = statSync(dir);
    expect(p).toMatchObject({ existing: dir, uid: st.uid, gid: st.gid });
    expect(p.access).toBe(process.getuid?.() === 0 ? "ok" : expect.stringMatching(/^(ok|denied)$/));
    expect(p.mount && (p.mount === "/" || dir.startsWith(`${p.mount}/`))).toBe(true);
  });

  it("looks at the nearest existing ancestor of a path that does not exist yet", () => {
    expect(probePath(join(dir, "a", "b", "c")).existing).toBe(dir);
  });
});
