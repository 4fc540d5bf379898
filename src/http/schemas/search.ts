import { z } from "@hono/zod-openapi";
import { Name } from "./common.js";

const str = (max = 2000) => z.string().max(max);
const fieldList = z.union([str(), z.array(Name).max(100)]);

/**
 * POST /typesense/search. The job is chosen by job_id, or by Athena client +
 * table (+ schema, default public). Everything else is forwarded to
 * Typesense's search as is; query_by defaults to the job's queryable fields.
 */
export const SearchBody = z
  .object({
    job_id: z.string().min(1).max(200).optional(),
    source_client_name: Name.optional(),
    source_schema_name: Name.optional(),
    source_table_name: Name.optional(),
    q: str().default("*"),
    query_by: fieldList.optional(),
    filter_by: str(4000).optional(),
    sort_by: str(500).optional(),
    facet_by: str(1000).optional(),
    max_facet_values: z.number().int().min(1).max(1000).optional(),
    page: z.number().int().min(1).max(10_000).optional(),
    per_page: z.number().int().min(0).max(250).optional(),
    include_fields: fieldList.optional(),
    exclude_fields: fieldList.optional(),
    prefix: z.union([z.boolean(), str(200)]).optional(),
    num_typos: z.union([z.number().int().min(0).max(2), str(100)]).optional(),
    highlight_fields: fieldList.optional(),
    highlight_full_fields: fieldList.optional(),
    highlight_start_tag: str(100).optional(),
    highlight_end_tag: str(100).optional(),
    highlight_affix_num_tokens: z.number().int().min(0).max(100).optional(),
    snippet_threshold: z.number().int().min(0).max(10_000).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.job_id !== undefined) {
      if (b.source_client_name !== undefined || b.source_table_name !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["job_id"],
          message: "give job_id or source_client_name + source_table_name, not both",
        });
      }
      return;
    }
    for (const k of ["source_client_name", "source_table_name"] as const) {
      if (b[k] === undefined) {
        ctx.addIssue({ code: "custom", path: [k], message: `${k} is required without job_id` });
      }
    }
  })
  .openapi("SearchRequest");

export type SearchBodyT = z.infer<typeof SearchBody>;

export const SearchResult = z.object({
  job_id: z.uuid(),
  collection: z.string(),
  result: z.record(z.string(), z.unknown()).openapi({ description: "Typesense's search response" }),
});

/** Fields forwarded to Typesense (lists joined with commas). */
export const FORWARDED = [
  "q",
  "query_by",
  "filter_by",
  "sort_by",
  "facet_by",
  "max_facet_values",
  "page",
  "per_page",
  "include_fields",
  "exclude_fields",
  "prefix",
  "num_typos",
  "highlight_fields",
  "highlight_full_fields",
  "highlight_start_tag",
  "highlight_end_tag",
  "highlight_affix_num_tokens",
  "snippet_threshold",
] as const;

export function searchParams(
  b: SearchBodyT,
  defaultQueryBy: readonly string[],
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const k of FORWARDED) {
    const v = b[k];
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(",") : v;
  }
  if (out.query_by === undefined || out.query_by === "") out.query_by = defaultQueryBy.join(",");
  return out;
}
