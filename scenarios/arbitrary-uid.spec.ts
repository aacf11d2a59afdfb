/**
 * A uid the image does not know, in group 0, on a volume its group may write: how OpenShift's
 * restricted policy runs a container (a random uid, gid 0, the volume's group set by fsGroup).
 * initdb gets a user name from nss_wrapper (as in the official entrypoint), the runtime's
 * directories outside the volume are group 0's, and the server, its backups and a restart work.
 * The same for a member under HA_MODE=patroni, as deploy/kubernetes runs it: Patroni, its
 * configuration, and the cluster CA root's and readable through group 0 only.
 */
import { randomBytes } from "node:crypto";
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { HaClusterContainer, OneShotContainer, removeVolume } from "../harness/index.js";

const uid = "1000650000";

describe("@arbitrary-uid a random uid in group 0 initializes, serves and backs up, as OpenShift runs it #arbitrary-uid", () => {
  it("new database as that uid: PGDATA its own, a full backup in the bucket, the same data after a crash-restart", async ({ bed }) => {
    const volume = `arbitrary-uid-${randomBytes(4).toString("hex")}`;
    try {
      // What fsGroup makes of a volume: group 0, group-writable, setgid; nothing in it yet.
      await prepareAsFsGroup(bed.image, volume);

      const bucket = await bed.s3.createBucket("arbitrary-uid");
      const primary = await bed.primary(bucket).withDataVolume(volume).withUser(`${uid}:0`).start();
      try {
        expect((await primary.execOk(["id", "-u"])).output.trim()).toBe(uid);
        expect((await primary.execOk(["stat", "-c", "%u", "/var/lib/postgresql/18/docker"])).output.trim()).toBe(uid);
        await primary.sql("CREATE TABLE t AS SELECT 1 AS id");
        await primary.waitForBackups("full");
        expect((await primary.backups()).map((b) => b.type)).toEqual(["full"]);
        await primary.crashRestart();
        expect(await primary.sql("SELECT id FROM t")).toEqual([{ id: 1 }]);
        expect(await primary.logText()).toMatch(/start as primary/);
      } finally {
        await primary.stop();
      }
    } finally {
      await removeVolume(volume);
    }
  });
});

/** What fsGroup makes of a volume: group 0, group-writable, setgid; nothing in it yet. */
async function prepareAsFsGroup(image: string, volume: string): Promise<void> {
  const prepared = await new OneShotContainer(image)
    .withUser("0:0")
    .withVolume(volume, "/var/lib/postgresql")
    .withEntrypoint("sh")
    .withCommand(["-c", "rm -rf /var/lib/postgresql/* && chown 0:0 /var/lib/postgresql && chmod 2770 /var/lib/postgresql"])
    .run();
  expect(prepared.exitCode, prepared.output).toBe(0);
}

describe("@arbitrary-uid an HA_MODE=patroni member under a random uid in group 0, as deploy/kubernetes runs it on OpenShift #ha-arbitrary-uid", () => {
  it("becomes the leader, takes the first full backup, and is the leader with its rows again after a crash-restart", async ({ bed }) => {
    const volume = `ha-arbitrary-uid-${randomBytes(4).toString("hex")}`;
    const cluster = await new HaClusterContainer(bed).withMembers(0).start();
    try {
      await prepareAsFsGroup(bed.image, volume);
      // The cluster CA close to how the manifests mount its secret: root's, group-readable (defaultMode 0440
      // with fsGroup); ca.crt readable by all, as etcd (another uid here) reads it too.
      const ca = await new OneShotContainer(bed.image)
        .withUser("0:0")
        .withVolume(cluster.caVolume, "/ca")
        .withEntrypoint("sh")
        .withCommand(["-c", "chown -R 0:0 /ca && chmod 2755 /ca && chmod 0440 /ca/ca.key && chmod 0444 /ca/ca.crt && ls -ln /ca"])
        .run();
      expect(ca.exitCode, ca.output).toBe(0);
      const member = await cluster.memberContainer("member1").withDataVolume(volume).withUser(`${uid}:0`).start();
      cluster.members.push(member);
      expect((await member.execOk(["id", "-u"])).output.trim()).toBe(uid);
      expect((await member.execOk(["stat", "-c", "%u", "/var/lib/postgresql/18/docker"])).output.trim()).toBe(uid);
      expect(await cluster.leader()).toBe(member);
      await member.waitForBackupsActive();
      expect((await member.backups()).map((b) => b.type)).toEqual(["full"]);
      await member.sql("CREATE TABLE t AS SELECT 1 AS id");
      await member.crashRestart();
      expect(await cluster.leader(90_000)).toBe(member);
      expect(await member.sql("SELECT id FROM t")).toEqual([{ id: 1 }]);
    } finally {
      await cluster.stop();
      await removeVolume(volume);
    }
  });
});
