import type { ColumnInfo } from "../catalog/describe-table.js";
import { parseJson } from "../json/codec.js";
import type { DocumentValue, TypesenseField, TypesenseFieldType } from "../typesense/types.js";
import { parsePgArrayFlat } from "./pg-array.js";
import {
  parseBool,
  parseEwkbPoint,
  parseFloatValue,
  parseInstant,
  parseInstantMs,
  parseInt64,
  parsePoint,
  UnrepresentableValue,
} from "./values.js";

/**
 * Postgres -> Typesense type mapping. Every converter takes the column's output
 * function text (pgoutput's text and selectList's text are the same bytes), so
 * full sync and CDC build identical documents from the same row.
 *
 * | Postgres                                   | Typesense                   |
 * |--------------------------------------------|-----------------------------|
 * | int2, int4                                 | int32                       |
 * | int8                                       | int64 (bigint beyond 2^53)  |
 * | numeric, float4, float8                    | float (NaN/+-Inf omitted)   |
 * | bool                                       | bool                        |
 * | text, varchar, char, name, citext, uuid, enum | string                   |
 * | date, timestamp, timestamptz               | int64 epoch ms (+ `<col>_iso`) |
 * | json, jsonb                                | object, or string           |
 * | point, PostGIS Point SRID 4326             | geopoint [lat, lng]         |
 * | arrays of the above                        | T[] (NULL elements dropped, nested flattened) |
 * | anything else (interval, bytea, inet, ...) | string (output text)        |
 *
 * Strings are the output text unchanged: char(n) keeps its blank padding,
 * jsonb in "string" mode is Postgres' normalized text.
 *
 * NULL never reaches a converter: the mapper omits the field (every non-id
 * field is `optional: true`). A value with no faithful Typesense form (NaN,
 * infinity timestamps, a json scalar in an object field, an out-of-range
 * point) is treated like NULL and reported, never coerced.
 */
export interface MappingOptions {
  /** json/jsonb as nested objects (needs enable_nested_fields) or as their JSON text. Default "object". */
  json?: "object" | "string";
  /** Also write `<col>_iso` (ISO 8601 string) next to date/timestamp columns. Default false. */
  isoTimestamps?: boolean;
  /** `index` of the produced field. Default true. */
  index?: boolean;
}

export interface Converted {
  /** undefined: omit the field, exactly as for NULL. */
  value: DocumentValue | undefined;
  /** Value of the `<col>_iso` field when the mapping has one (undefined: omit). */
  iso?: DocumentValue | undefined;
  /** Why the value, or some array elements, were dropped. */
  problem?: string;
}

export interface ColumnMapping {
  column: ColumnInfo;
  field: TypesenseField;
  /** The `<col>_iso` string (or string[]) field, when isoTimestamps applies. */
  isoField: TypesenseField | null;
  /** Converts one non-NULL output text. Never throws for well-formed Postgres output. */
  convert(text: string): Converted;
}

interface Scalar {
  type: TypesenseFieldType;
  parse(text: string): DocumentValue;
  /** For dates/timestamps: value and ISO string from a single parse. */
  instant?: (text: string) => { ms: number; iso: string };
}

// Point columns declared with a 4326 SRID (geography defaults to 4326).
const GEO_POINT_TYPE =
  /^(?:geometry\(point[zm]{0,2},4326\)|geography\(point[zm]{0,2}(?:,4326)?\))(?:\[\])*$/i;

const identity = (text: string): string => text;

function scalarFor(col: ColumnInfo, opts: MappingOptions): Scalar {
  switch (col.kind) {
    case "int32":
      return { type: "int32", parse: Number };
    case "int64":
      return { type: "int64", parse: parseInt64 };
    case "numeric":
    case "float":
      return { type: "float", parse: parseFloatValue };
    case "bool":
      return { type: "bool", parse: parseBool };
    case "date":
    case "timestamp":
    case "timestamptz": {
      const kind = col.kind;
      const instant = (text: string) => parseInstant(text, kind);
      return { type: "int64", parse: (t) => parseInstantMs(t, kind), instant };
    }
    case "json":
      if (opts.json === "string") return { type: "string", parse: identity };
      return { type: "object", parse: parseJsonObject };
    case "point":
      return { type: "geopoint", parse: parsePoint };
    case "geometry":
      if (GEO_POINT_TYPE.test(col.typeName.replaceAll(" ", ""))) {
        return { type: "geopoint", parse: parseEwkbPoint };
      }
      return { type: "string", parse: identity };
    default:
      return { type: "string", parse: identity };
  }
}

function parseJsonObject(text: string): DocumentValue {
  const v = parseJson(text);
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new UnrepresentableValue(
      'json value is not an object (use json: "string" for such columns)',
    );
  }
  return v;
}

export function mapColumn(col: ColumnInfo, opts: MappingOptions = {}): ColumnMapping {
  const scalar = scalarFor(col, opts);
  const withIso = opts.isoTimestamps === true && scalar.instant !== undefined;
  const field: TypesenseField = {
    name: col.name,
    type: col.isArray ? (`${scalar.type}[]` as TypesenseFieldType) : scalar.type,
    optional: true,
    index: opts.index ?? true,
    facet: false,
  };
  const isoField: TypesenseField | null = withIso
    ? {
        name: `${col.name}_iso`,
        type: col.isArray ? "string[]" : "string",
        optional: true,
        index: opts.index ?? true,
        facet: false,
      }
    : null;
  const convert = col.isArray
    ? arrayConverter(col, scalar, withIso)
    : scalarConverter(scalar, withIso);
  return { column: col, field, isoField, convert };
}

function scalarConverter(scalar: Scalar, withIso: boolean): (text: string) => Converted {
  const instant = scalar.instant;
  return (text) => {
    try {
      if (withIso && instant) {
        const p = instant(text);
        return { value: p.ms, iso: p.iso };
      }
      return { value: scalar.parse(text) };
    } catch (err) {
      if (err instanceof UnrepresentableValue) return { value: undefined, problem: err.message };
      throw err;
    }
  };
}

/**
 * Arrays: Typesense arrays hold no nulls, so NULL elements are dropped
 * (silently: that is what an array field can say); multi-dimensional arrays are
 * flattened in row-major order; unrepresentable elements are dropped and
 * reported. An empty array stays [] (distinct from NULL, which omits the field).
 */
function arrayConverter(
  col: ColumnInfo,
  scalar: Scalar,
  withIso: boolean,
): (text: string) => Converted {
  const instant = scalar.instant;
  return (text) => {
    const items = parsePgArrayFlat(text, col.arrayDelimiter);
    const values: DocumentValue[] = [];
    const isos: string[] | undefined = withIso ? [] : undefined;
    let problems: string[] | undefined; // allocated on the first dropped element only
    for (const item of items) {
      if (item === null) continue;
      try {
        if (isos && instant) {
          const p = instant(item);
          values.push(p.ms);
          isos.push(p.iso);
        } else {
          values.push(scalar.parse(item));
        }
      } catch (err) {
        if (!(err instanceof UnrepresentableValue)) throw err;
        problems ??= [];
        problems.push(err.message);
      }
    }
    const out: Converted = { value: values };
    if (isos) out.iso = isos;
    if (problems) {
      out.problem = `${problems.length} array element(s) dropped: ${problems.slice(0, 3).join("; ")}`;
    }
    return out;
  };
}
