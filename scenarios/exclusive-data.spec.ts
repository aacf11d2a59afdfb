import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OneShotContainer, PrimaryContainer, productImage, removeVolume, type StartedPrimaryContainer } from "../harness/index.js";

/**
 * PostgreSQL's postmaster.pid cannot see a server in another container (another PID namespace),
 * so without the image's own lock a second container on a volume in use starts a second
 * postmaster on the same files. It must stop before touching anything, and the first must not notice.
 */
describe("@exclusive-data one data directory, one server #exclusive-data", () => {
  let image: string;
  let first: StartedPrimaryContainer;
  const volume = `exclusive-${randomBytes(4).toString("hex")}`;
  const pidFile = "/var/lib/postgresql/18/docker/postmaster.pid";
  const primary = () => new PrimaryContainer(image).withDataVolume(volume).withPassword("exclusive-pw");

  beforeAll(async () => {
    image = await productImage();
    first = await primary().start();
    await first.sql("CREATE TABLE t (id int)");
  });

  afterAll(async () => {
    await first?.stop();
    await removeVolume(volume);
  });

  it("a second container on the volume exits 73 with one line and changes nothing; the first keeps serving", async () => {
    const pidBefore = (await first.execOk(["cat", pidFile])).output;
    const second = await new OneShotContainer(image)
      .withVolume(volume, "/var/lib/postgresql")
      .withEnvironment({ POSTGRES_PASSWORD: "exclusive-pw" })
      .run(60_000);
    expect(second.exitCode, second.output).toBe(73);
    const errors = second.output.split("\n").filter((l) => l.includes("ERROR"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /lock-data-directory: ERROR: PGDATA \/var\/lib\/postgresql\/18\/docker is in use by another server .*Fix: stop the other container first/,
    );
    expect(second.output).not.toMatch(/prepare-directories|clear-stale-lock|database system is ready/);
    expect((await first.execOk(["cat", pidFile])).output).toBe(pidBefore);
    await first.sql("INSERT INTO t VALUES (1)");
    expect(await first.sql("SELECT count(*)::int AS n FROM t")).toEqual([{ n: 1 }]);
  });

  it("once the first container is gone, the lock is free: a new container starts on the same data", async () => {
    await first.sql("INSERT INTO t VALUES (2)");
    await first.stop();
    first = await primary().start();
    expect(await first.sql("SELECT count(*)::int AS n FROM t")).toEqual([{ n: 2 }]);
  });

  it("a crash (SIGKILL) releases the lock with the container: the next start takes it", async () => {
    await first.crashRestart();
    expect(await first.sql("SELECT count(*)::int AS n FROM t")).toEqual([{ n: 2 }]);
    expect(await first.logText()).toMatch(/lock-data-directory: holding \S+docker\.lock while this container runs[\s\S]*lock-data-directory: holding/);
  });
});
