import type { ConfigurationOptions } from "typesense/lib/Typesense/Configuration.js";
import type { SyncedJob, SyncedSource } from "../http/synced-job.js";
import { clientFor } from "../support/typesense.js";

/**
 * Two tenants in one collection: 60 rows, tenant_id 1 or 2 (i % 2 + 1), a
 * facet field, and a `secret` column a key may hide. Most words are shared
 * across tenants, so a query alone does not separate them; the title carries
 * `T{tenant}x{id}` and the secret `S{tenant}x{id}`, so a tenant 2 document
 * shows in any answer (hit, snippet, facet) as the text "T2x" or "S2x". `big` is an int64
 * above 2^53 (exact only if nothing parses the answer as a JS number on the way).
 */
export const TENANT_DOCS: SyncedSource = {
  table: "docs",
  sql: [
    `create table docs (id bigint primary key, tenant_id int not null, title text not null,
      body text not null, category text not null, secret text not null, big bigint not null)`,
    `insert into docs
      select i, i % 2 + 1,
             (array['red', 'blue', 'green'])[i % 3 + 1] || ' widget T' || (i % 2 + 1) || 'x' || i,
             'shared body words number ' || (i % 5),
             (array['tools', 'toys', 'garden', 'kitchen'])[i % 4 + 1],
             'S' || (i % 2 + 1) || 'x' || i,
             9007199254740993 + i
        from generate_series(1, 60) i`,
  ],
  queryableFields: ["title", "body", "category"],
};

export const tenantOf = (id: string | number) => (Number(id) % 2) + 1;

/** A search key made through /admin/search-keys; returns its token and id. */
export async function mintSearchKey(
  job: SyncedJob,
  body: Record<string, unknown>,
): Promise<{ token: string; id: string; publicId: string }> {
  const r = await job.call("POST", "/admin/search-keys", { name: "k", ...body });
  if (r.status !== 201) throw new Error(`search key not created: ${JSON.stringify(r.json)}`);
  const key = r.json.data.key as { id: string; public_id: string };
  return { token: r.json.data.api_key as string, id: key.id, publicId: key.public_id };
}

/** The official typesense client pointed at the sidecar's gateway, unchanged but for the path. */
export function gatewayClient(
  base: string,
  apiKey: string,
  options: Partial<ConfigurationOptions> = {},
) {
  return clientFor(`${base}/typesense-api`, apiKey, { numRetries: 1, ...options });
}
