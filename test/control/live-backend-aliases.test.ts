import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackendConnection } from "../../src/control/backends.js";
import { createLiveBackend } from "../../src/control/live-backend.js";
import {
  createTypesenseClients,
  type TypesenseClients,
} from "../../src/control/typesense-clients.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import { silentLogger } from "../support/log.js";
import { useTypesense } from "../support/typesense.js";

// The live backend (CDC, full sync, rebuilds) passes the alias calls to the saved backend's client.
const ts = useTypesense();
let clients: TypesenseClients;
let live: TypesenseBackend;

beforeAll(() => {
  clients = createTypesenseClients(silentLogger());
  const profileId = "00000000-0000-4000-8000-000000000002";
  const conn: BackendConnection = {
    profileId,
    nodes: [ts.url],
    apiKey: ts.apiKey,
    timeoutMs: 5_000,
  };
  const version = { version: "v1", conn };
  live = createLiveBackend({
    profileId,
    initial: version,
    load: async () => version,
    clients,
    refreshMs: 60_000,
    log: silentLogger(),
  });
});
afterAll(async () => {
  await clients.close();
});

describe("live backend alias calls", () => {
  it("upsertAlias, getAlias, listAliases and deleteAlias reach Typesense", async () => {
    const target = ts.uniqueName("lb");
    await live.createCollection({ name: target, fields: [{ name: "t", type: "string" }] });
    const alias = ts.uniqueName("lb");
    expect(await live.upsertAlias(alias, target)).toEqual({ name: alias, collection_name: target });
    expect(await live.getAlias(alias)).toEqual({ name: alias, collection_name: target });
    expect(await live.listAliases()).toContainEqual({ name: alias, collection_name: target });
    expect((await live.getCollection(alias))?.name).toBe(target);
    expect(await live.deleteAlias(alias)).toEqual({ name: alias, collection_name: target });
    expect(await live.getAlias(alias)).toBeNull();
  });
});
