import { describe, expect, it } from "vitest";
import type { BackendConnection } from "../../src/control/backends.js";
import { createLiveBackend } from "../../src/control/live-backend.js";
import type { TypesenseClients } from "../../src/control/typesense-clients.js";
import { type TypesenseBackend, TypesenseError } from "../../src/typesense/index.js";
import { silentLogger } from "../support/log.js";

/*
 * A key rotation: Typesense changes its key first, the saved backend is
 * changed moments later. A call refused in between is sent again with the new
 * key once the saved backend shows it (control/live-backend.ts), instead of
 * failing on the first re-read that still finds the old one.
 */

const conn = (apiKey: string): BackendConnection => ({
  profileId: "p",
  nodes: ["http://ts"],
  apiKey,
  timeoutMs: 1000,
});

/** Clients whose backend accepts only `valid()`'s key; counts the calls. */
function clientsAccepting(valid: () => string, calls: string[]): TypesenseClients {
  return {
    lease(c: BackendConnection) {
      const backend = {
        async health() {
          calls.push(c.apiKey);
          if (c.apiKey !== valid()) {
            throw new TypesenseError({ message: "Forbidden", kind: "rejected", status: 401 });
          }
          return { ok: true };
        },
      } as unknown as TypesenseBackend; // only health() is called here
      return { backend, release() {} };
    },
  } as unknown as TypesenseClients; // only lease() is used by the live backend
}

describe("live backend after a refused key", () => {
  it("re-reads until the saved backend shows the new key, then sends the call again", async () => {
    const calls: string[] = [];
    let reads = 0;
    const live = createLiveBackend({
      profileId: "p",
      initial: { version: "1", conn: conn("old") },
      // the first re-read after the refusal still finds the old key (the save is not committed yet)
      load: async () => {
        reads++;
        return reads < 2
          ? { version: "1", conn: conn("old") }
          : { version: "2", conn: conn("new") };
      },
      clients: clientsAccepting(() => "new", calls),
      refreshMs: 60_000,
      log: silentLogger(),
    });
    await expect(live.health()).resolves.toEqual({ ok: true });
    expect(calls).toEqual(["old", "new"]);
    expect(reads).toBe(2);
  });

  it("a key that stays refused fails after a bounded number of re-reads", async () => {
    const calls: string[] = [];
    let reads = 0;
    const live = createLiveBackend({
      profileId: "p",
      initial: { version: "1", conn: conn("old") },
      load: async () => {
        reads++;
        return { version: "1", conn: conn("old") };
      },
      clients: clientsAccepting(() => "new", calls),
      refreshMs: 60_000,
      log: silentLogger(),
    });
    await expect(live.health()).rejects.toThrow(/Forbidden/);
    expect(calls).toEqual(["old"]);
    expect(reads).toBe(3);
  });
});
