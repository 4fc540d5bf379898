import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../src/demo/embedded-postgres.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the test server (its `postgres` database). */
    pgAdminUrl: string;
  }
}

/**
 * Starts one embedded Postgres for the whole run (wal_level=logical, room for
 * replication slots), unless TEST_DATABASE_URL points at an existing server.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    project.provide("pgAdminUrl", external);
    return async () => {};
  }
  const pg = await startEmbeddedPostgres({
    // durability is irrelevant for a throw-away test server
    settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off" },
  });
  project.provide("pgAdminUrl", pg.adminUrl);
  return () => pg.stop();
}
