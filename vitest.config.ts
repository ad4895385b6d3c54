import { defineConfig } from "vitest/config";

// The Testcontainers reaper (Ryuk) image cannot be pulled on these machines;
// test/support stops its containers itself.
process.env["TESTCONTAINERS_RYUK_DISABLED"] ??= "true";

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["packages/*/test/**/*.test.ts", "bench/test/**/*.test.ts", "checks/**/*.test.ts"]
        }
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          globalSetup: ["test/support/globalSetup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // 2 cores, and integration tests start containers and child processes.
          fileParallelism: false
        }
      }
    ]
  }
});
