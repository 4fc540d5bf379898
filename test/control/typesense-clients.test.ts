import { describe, expect, it } from "vitest";
import type { BackendConnection } from "../../src/control/backends.js";
import { connectionVersion, createTypesenseClients } from "../../src/control/typesense-clients.js";
import { silentLogger } from "../support/log.js";

const conn = (apiKey: string): BackendConnection => ({
  profileId: "00000000-0000-4000-8000-000000000001",
  nodes: ["http://127.0.0.1:1"],
  apiKey,
  timeoutMs: 1000,
});

/*
 * One client cache serves the whole process (cli/ builds it once): the API's
 * search and dead-letter retry ask for a saved backend's client with
 * forSaved, the live backends of CDC and full sync with lease. They must land
 * on one entry, or each would retire the other's client on every call.
 */
describe("TypesenseClients shared by the API and the live backends", () => {
  it("forSaved and lease of one saved connection give one client; neither retires it", async () => {
    const clients = createTypesenseClients(silentLogger());
    try {
      const searched = clients.forSaved(conn("k1"));
      const leased = clients.lease(conn("k1"));
      expect(leased.backend).toBe(searched);
      leased.release();
      expect(clients.forSaved(conn("k1"))).toBe(searched);
    } finally {
      await clients.close();
    }
  });

  it("a changed connection is a new version and a new client", async () => {
    const clients = createTypesenseClients(silentLogger());
    try {
      expect(connectionVersion(conn("k1"))).toBe(connectionVersion(conn("k1")));
      expect(connectionVersion(conn("k2"))).not.toBe(connectionVersion(conn("k1")));
      expect(connectionVersion(conn("k1"))).not.toContain("k1");
      const old = clients.forSaved(conn("k1"));
      expect(clients.forSaved(conn("k2"))).not.toBe(old);
    } finally {
      await clients.close();
    }
  });
});
