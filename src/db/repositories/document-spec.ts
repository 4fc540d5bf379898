import { z } from "@hono/zod-openapi";

/**
 * The shape of a job's `document` spec (issue 15; sql/010 stores it as jsonb in
 * typesense_sync_jobs.document, null = the job renders exactly what it did
 * before specs existed). This file is only the JSON contract, so the job's
 * field definitions (job-schema.ts) can hold it without db/ importing
 * documents/: what a spec MEANS against a real catalog (tables, columns, keys,
 * expression types) is checked and rendered by src/documents/spec/.
 *
 * The keys are an API contract: extend them, never rename them.
 * docs/documents.md explains every key and its mapping rules.
 */

/** A Typesense field name the spec may produce: no "id" (the document id), no "." (nested paths). */
const FieldName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^.]+$/, "a field name may not contain '.' (nested fields come from children)")
  .refine((n) => n !== "id", "'id' is the document id (document_id_column), not a field");

/** A column of the row the field list belongs to (root, lookup or child row). */
const ColumnName = z.string().min(1).max(63);

/**
 * Operator-written SQL (an expression, a filter, an order). It runs on the
 * operator's own source database, read-only and under statement_timeout, and
 * only admin and proxy keys may write jobs (docs/documents.md "Who may write SQL").
 */
const SqlText = z.string().min(1).max(10_000);

/** `schema.table`, or `table` in the job's source schema. */
const TableRef = z
  .string()
  .min(1)
  .max(127)
  .regex(/^[^.]+(\.[^.]+)?$/, "a table is 'schema.table' or 'table'");

/** Typesense types a field may be declared as (an override must convert; resolve checks it). */
export const SPEC_FIELD_TYPES = [
  "string",
  "string[]",
  "int32",
  "int32[]",
  "int64",
  "int64[]",
  "float",
  "float[]",
  "bool",
  "bool[]",
  "geopoint",
  "geopoint[]",
  "object",
  "object[]",
] as const;

/** One document field: from a `column` or from a `sql` expression over the row, plus Typesense options. */
export const SpecField = z
  .object({
    name: FieldName,
    column: ColumnName.optional(),
    sql: SqlText.optional(),
    type: z.enum(SPEC_FIELD_TYPES).optional(),
    index: z.boolean().optional(),
    facet: z.boolean().optional(),
    sort: z.boolean().optional(),
    optional: z.boolean().optional(),
    infix: z.boolean().optional(),
    locale: z.string().min(1).max(20).optional(),
    stem: z.boolean().optional(),
    range_index: z.boolean().optional(),
    store: z.boolean().optional(),
    num_dim: z.number().int().min(1).max(16_384).optional(),
    embed: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .refine((f) => (f.column === undefined) !== (f.sql === undefined), {
    message: "a field has exactly one of 'column' or 'sql'",
  });
export type SpecField = z.infer<typeof SpecField>;

/** `on`: this row's columns -> the other table's columns (one pair or more). */
const JoinOn = z
  .record(ColumnName, ColumnName)
  .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 8, {
    message: "'on' maps 1 to 8 columns",
  });

export interface SpecLookup {
  name: string;
  table: string;
  on: Record<string, string>;
  fields: SpecField[];
  lookups?: SpecLookup[] | undefined;
}

/**
 * Many-to-one: `on` maps the row's columns to the looked-up table's key; the
 * looked-up fields join the document flat (no field when no row matches).
 * Lookups nest (a lookup's own lookups, a child's lookups).
 */
export const SpecLookup: z.ZodType<SpecLookup> = z
  .lazy(() =>
    z
      .object({
        name: FieldName,
        table: TableRef,
        on: JoinOn,
        fields: z.array(SpecField).min(1).max(200),
        lookups: z.array(SpecLookup).max(16).optional(),
      })
      .strict(),
  )
  // a named component: the OpenAPI generator refers to a recursive schema by
  // its $ref (without a name it recurses until the stack overflows)
  .openapi("DocumentSpecLookup");

/**
 * One-to-many: `on` maps the root's key to the child's foreign key; rows in
 * `order_by` order, at most `limit`. `objects`: one object[] field named after
 * the child; `arrays`: one array field per child field, `<child>_<field>`.
 */
export const SpecChild = z
  .object({
    name: FieldName,
    table: TableRef,
    on: JoinOn,
    order_by: SqlText.optional(),
    limit: z.number().int().min(1).max(1000).default(100),
    shape: z.enum(["objects", "arrays"]).default("objects"),
    fields: z.array(SpecField).min(1).max(200),
    lookups: z.array(SpecLookup).max(16).default([]),
  })
  .strict();
export type SpecChild = z.infer<typeof SpecChild>;

/** Collection-level Typesense options (enable_nested_fields is set when a field needs it). */
export const SpecCollection = z
  .object({
    default_sorting_field: FieldName.optional(),
    token_separators: z.array(z.string().length(1)).max(64).optional(),
    symbols_to_index: z.array(z.string().length(1)).max(64).optional(),
  })
  .strict();

/** The whole spec. Leaving `fields` out keeps included_columns / queryable_fields. */
export const DocumentSpec = z
  .object({
    fields: z.array(SpecField).min(1).max(1000).optional(),
    filter: SqlText.optional(),
    lookups: z.array(SpecLookup).max(16).default([]),
    children: z.array(SpecChild).max(16).default([]),
    collection: SpecCollection.optional(),
  })
  .strict()
  .openapi("DocumentSpec", {
    description:
      "how a row becomes a search document: fields from columns or SQL, a row filter, lookups (many-to-one) and children (one-to-many); docs/documents.md",
  });
export type DocumentSpec = z.output<typeof DocumentSpec>;
export type DocumentSpecInput = z.input<typeof DocumentSpec>;
