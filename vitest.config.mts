import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Pulumi's runtime keeps module-level state; separate forks keep stacks from leaking into each other.
    pool: "forks",
  },
});
