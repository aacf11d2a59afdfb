import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { digestDirectory, digestTar } from "./tar-digest.js";

describe("digestTar", () => {
  const root = mkdtempSync(join(tmpdir(), "tar-digest-"));
  const dir = join(root, "postgresql");
  const long = `${"d".repeat(80)}/${"f".repeat(90)}`;
  mkdirSync(join(dir, "18", "docker"), { recursive: true, mode: 0o700 });
  mkdirSync(join(dir, "d".repeat(80)));
  writeFileSync(join(dir, "18", "docker", "PG_VERSION"), "18\n", { mode: 0o600 });
  writeFileSync(join(dir, long), "x".repeat(1500));
  symlinkSync("18/docker", join(dir, "current"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");

  for (const format of ["gnu", "pax"]) {
    it(`digests contents, modes and links of a ${format} archive, relative to the archived directory`, () => {
      const tar = execFileSync("tar", ["-C", root, `--format=${format}`, "-c", "postgresql"]);
      const digest = digestTar(tar);
      expect(digest[""]).toMatch(/^dir \d{4} \d+:\d+$/);
      expect(digest["18/docker"]).toMatch(/^dir 0700 /);
      expect(digest["18/docker/PG_VERSION"]).toMatch(new RegExp(`^file 0600 \\d+:\\d+ 3 ${sha("18\n")}$`));
      expect(digest[long]).toMatch(new RegExp(` 1500 ${sha("x".repeat(1500))}$`));
      expect(digest.current).toMatch(/^symlink \d{4} \d+:\d+ -> 18\/docker$/);
      writeFileSync(join(dir, "18", "docker", "PG_VERSION"), "17\n", { mode: 0o600 });
      try {
        expect(digestTar(execFileSync("tar", ["-C", root, `--format=${format}`, "-c", "postgresql"]))["18/docker/PG_VERSION"]).not.toBe(
          digest["18/docker/PG_VERSION"],
        );
      } finally {
        writeFileSync(join(dir, "18", "docker", "PG_VERSION"), "18\n", { mode: 0o600 });
      }
    });
  }

  it("reads the same digest from the directory itself as from its archive, and none for a missing one", () => {
    expect(digestDirectory(dir)).toEqual(digestTar(execFileSync("tar", ["-C", root, "--format=pax", "-c", "postgresql"])));
    expect(digestDirectory(join(root, "missing"))).toBeNull();
  });
});
