import { defineConfig } from "vitest/config";

// One runner for every package. Files run in parallel on two workers (the CI machine has 2 cores);
// tests that start servers or processes bound their own waits, so the default timeouts are generous.
export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    pool: "forks",
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
