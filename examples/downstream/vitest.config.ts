import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["*.spec.ts"],
    // Engine, base image, product image and S3 image once, before the tests.
    globalSetup: ["./global-setup.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
