import { z } from "@hono/zod-openapi";

/** A path parameter; any string is accepted so unknown ids give 404, not 400. */
export function idParam(name: string) {
  return z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name, in: "path" } });
}

export const Timestamp = z.iso.datetime().nullable();

/** ?limit=&offset= for list routes. */
export const Paging = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

/** Identifier-like names: columns, clients, schemas (Postgres allows more; we allow what a job needs). */
export const Name = z.string().min(1).max(63);

/** A required JSON request body validated by `schema` (for createRoute's `request`). */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});
