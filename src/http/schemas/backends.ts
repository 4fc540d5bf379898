import { z } from "@hono/zod-openapi";

export const BackendSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    base_url: z.string(),
    additional_node_urls: z.array(z.string()),
    api_key_last4: z.string().openapi({ description: "Last 4 chars of the key ('' if short)" }),
    api_key_encrypted: z.boolean(),
    timeout_ms: z.number().int(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi("Backend");

const url = z.string().min(1).max(2000).openapi({ example: "https://ts.example.com:443" });
const timeout = z.number().int().min(1).max(600_000);

export const BackendCreate = z
  .object({
    name: z.string().trim().min(1).max(200),
    base_url: url,
    additional_node_urls: z.array(url).max(10).optional(),
    api_key: z.string().min(1).max(500),
    timeout_ms: timeout.optional(),
  })
  .strict()
  .openapi("BackendCreate");

export const BackendPatch = BackendCreate.partial().strict().openapi("BackendPatch");

/** Seed routes' backend selection: a saved backend, or an unsaved one. */
export const BackendTarget = z
  .union([
    z.object({ profile_id: z.string().min(1).max(200) }).strict(),
    z
      .object({
        base_url: url,
        api_key: z.string().min(1).max(500),
        timeout_ms: timeout.optional(),
      })
      .strict(),
  ])
  .openapi("BackendTarget", {
    description: "{profile_id} of a saved backend, or an unsaved {base_url, api_key, timeout_ms}",
  });

export const BackendTestResult = z.object({
  ok: z.boolean(),
  latency_ms: z.number(),
  /** Some node answered HTTP (false: refused, DNS, timeout on every node). */
  reachable: z.boolean(),
  /** The authenticated call's verdict; null when it was not made or failed otherwise. */
  key_accepted: z.boolean().nullable(),
  error: z.string().optional(),
});

export const CollectionSummary = z.object({
  name: z.string(),
  /** The aliases naming this collection (a job's collection_name is one: its live version). */
  aliases: z.array(z.string()),
  num_documents: z.number(),
  fields: z.array(z.record(z.string(), z.unknown())),
});
