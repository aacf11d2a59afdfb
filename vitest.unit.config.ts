import { defineConfig } from "vitest/config";

/** The unit project alone (pure functions, no containers): what mutation testing runs. */
export default defineConfig({
  test: {
    include: ["runtime/**/*.test.ts"],
  },
});
