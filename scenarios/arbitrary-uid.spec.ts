/**
 * A uid the image does not know, in group 0, on a volume its group may write: how OpenShift's
 * restricted policy runs a container (a random uid, gid 0, the volume's group set by fsGroup).
 * initdb gets a user name from nss_wrapper (as in the official entrypoint), the runtime's
 * directories outside the volume are group 0's, and the server, its backups and a restart work.
 */
import { randomBytes } from "node:crypto";
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { OneShotContainer, removeVolume } from "../harness/index.js";

const uid = "1000650000";

describe("@arbitrary-uid a random uid in group 0 initializes, serves and backs up, as OpenShift runs it #arbitrary-uid", () => {
  it("new database as that uid: PGDATA its own, a full backup in the bucket, the same data after a crash-restart", async ({ bed }) => {
    const volume = `arbitrary-uid-${randomBytes(4).toString("hex")}`;
    try {
      // What fsGroup makes of a volume: group 0, group-writable, setgid; nothing in it yet.
      const prepared = await new OneShotContainer(bed.image)
        .withUser("0:0")
        .withVolume(volume, "/var/lib/postgresql")
        .withEntrypoint("sh")
        .withCommand(["-c", "rm -rf /var/lib/postgresql/* && chown 0:0 /var/lib/postgresql && chmod 2770 /var/lib/postgresql"])
        .run();
      expect(prepared.exitCode, prepared.output).toBe(0);

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
