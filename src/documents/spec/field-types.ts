import type { ColumnInfo } from "../../catalog/index.js";
import type { SpecField } from "../../db/repositories/document-spec.js";
import type { TypesenseField } from "../../typesense/types.js";
import { mapColumn } from "../map-column.js";
import { outputText, renderValueSql } from "../sql-document.js";

/**
 * A spec field's Typesense type and its value rendering.
 *
 * The type is inferred exactly like a column of today's mapper (map-column.ts:
 * the value's Postgres type, domains resolved; an expression's type is what
 * Postgres described for it). An explicit `type` must be one the value
 * converts to without loss or guessing:
 *
 * | inferred                         | may be declared as                       |
 * |----------------------------------|------------------------------------------|
 * | any T                            | T                                        |
 * | int32                            | int64, float                             |
 * | int64                            | float                                    |
 * | int32[]                          | int64[], float[]                         |
 * | int64[]                          | float[]                                  |
 * | any scalar (not an array/object) | string: the value's Postgres output text |
 *
 * Anything else (a narrowing like int64 -> int32, string -> int64, an array
 * to a scalar) is refused: write a `sql` expression with the cast you mean.
 */
const WIDENINGS: Record<string, readonly string[]> = {
  int32: ["int64", "float"],
  int64: ["float"],
  "int32[]": ["int64[]", "float[]"],
  "int64[]": ["float[]"],
};

/** The type the value has by itself (map-column.ts), under the field's name. */
export function inferredField(pg: ColumnInfo, name: string): TypesenseField {
  return mapColumn({ ...pg, name }).field;
}

/** Why `declared` is not a type the value converts to, or null when it is. */
export function overrideProblem(inferred: string, declared: string, pg: ColumnInfo): string | null {
  if (declared === inferred) return null;
  if (WIDENINGS[inferred]?.includes(declared)) return null;
  const scalar = !inferred.endsWith("[]") && inferred !== "object";
  if (declared === "string" && scalar) return null;
  return `type "${declared}" does not convert from the value's type ${inferred} (Postgres ${pg.typeName}); allowed: ${allowedFor(inferred).join(", ")}; cast in a "sql" expression otherwise`;
}

function allowedFor(inferred: string): string[] {
  const out = [inferred, ...(WIDENINGS[inferred] ?? [])];
  if (!inferred.endsWith("[]") && inferred !== "object" && inferred !== "string")
    out.push("string");
  return out;
}

/** Typesense types `sort: true` (and a default_sorting_field) may have. */
export const SORTABLE_TYPES = new Set(["int32", "int64", "float", "bool", "geopoint", "string"]);

/**
 * The value's JSON text (NULL where the field is omitted), or null when the
 * type has no SQL rendering. Column values render exactly as today's documents
 * (sql-document.ts renderValueSql, the renderers rowToDocument is proven
 * against); json objects and points render here (proven in the spec's tests).
 */
export function valueSql(pg: ColumnInfo, declaredType: string, ref: string): string | null {
  const inferred = inferredField(pg, "v").type;
  if (declaredType === "string" && inferred !== "string") {
    // the output text as a JSON string (the override table above)
    return `pg_catalog.to_json(${outputText(pg, ref)})::text`;
  }
  if (pg.kind === "json" && !pg.isArray && inferred === "object") {
    // parseJsonObject: objects only; a json scalar or array is omitted
    const j = `(${ref})::pg_catalog.jsonb`;
    return `case when pg_catalog.jsonb_typeof(${j}) = 'object' then (${j})::text end`;
  }
  if (pg.kind === "point" && !pg.isArray) {
    // parsePoint: [lat, lng] = [y, x]; outside the lat/lng range (or NaN) omitted
    const x = `(${ref})[0]`;
    const y = `(${ref})[1]`;
    return (
      `case when ${y} between -90 and 90 and ${x} between -180 and 180` +
      ` then '[' || (${y})::text || ',' || (${x})::text || ']' end`
    );
  }
  return renderValueSql(pg, ref);
}

/** The Typesense field: inferred (or checked override) type, options passed through. */
export function typesenseField(pg: ColumnInfo, spec: SpecField): TypesenseField {
  const f: TypesenseField = inferredField(pg, spec.name);
  if (spec.type !== undefined) f.type = spec.type;
  const opts = [
    "index",
    "facet",
    "sort",
    "optional",
    "infix",
    "locale",
    "stem",
    "range_index",
    "store",
    "num_dim",
    "embed",
  ] as const;
  const out = f as unknown as Record<string, unknown>;
  for (const k of opts) if (spec[k] !== undefined) out[k] = spec[k];
  return f;
}
