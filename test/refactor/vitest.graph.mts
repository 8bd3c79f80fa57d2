import { defineConfig } from "vitest/config";

// Only test/refactor/compare.sh runs this: it writes each stack's resource graph for a byte-for-byte
// comparison between two revisions, which is a tool, not a check of the current tree.
export default defineConfig({
  test: {
    include: ["test/refactor/graph-snapshot.run.ts"],
    testTimeout: 120_000,
    pool: "forks",
  },
});
