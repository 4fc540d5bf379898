import { readField } from "./doc.js";
import type { Field } from "./schema.js";

/** How type mismatches are handled (`dirty_values`). */
export type DirtyMode = "reject" | "drop" | "coerce_or_reject" | "coerce_or_drop";

const MODES = new Set<string>(["reject", "drop", "coerce_or_reject", "coerce_or_drop"]);

/**
 * Parses `dirty_values` case-insensitively. Absent or unrecognized values fall back to
 * `reject`, or `coerce_or_reject` when the schema has a dynamic (`.*`/auto) field.
 */
export function parseDirtyValues(raw: string | undefined, hasDynamic: boolean): DirtyMode {
  const v = raw?.toLowerCase();
  if (v !== undefined && MODES.has(v)) return v as DirtyMode;
  return hasDynamic ? "coerce_or_reject" : "reject";
}

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;
const INT_STRING = /^[+-]?\d+$/;
const FLOAT_STRING = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A mismatch that may be dropped (optional field under drop / coerce_or_drop). */
const BAD = Symbol("bad");
/** Like BAD, for a non-array given to an array field ("must be an array."). */
const NOT_ARRAY = Symbol("not-array");
/** A hard error text that no mode can drop. */
class Hard {
  constructor(readonly message: string) {}
}

function scalarMessage(name: string, type: string): string {
  switch (type) {
    case "string":
      return `Field \`${name}\` must be a string.`;
    case "int32":
      return `Field \`${name}\` must be an int32.`;
    case "int64":
      return `Field \`${name}\` must be an int64.`;
    case "float":
      return `Field \`${name}\` must be a float.`;
    case "bool":
      return `Field \`${name}\` must be a bool.`;
    case "geopoint":
      return `Field \`${name}\` must be a 2 element array: [lat, lng].`;
    case "object":
      return `Field \`${name}\` must be an object.`;
    default:
      return `Field \`${name}\` must be a ${type}.`;
  }
}

function arrayMessage(name: string, elemType: string): string {
  switch (elemType) {
    case "float":
    case "bool":
      // "a array" is verbatim Typesense.
      return `Field \`${name}\` must be a array of ${elemType}.`;
    case "object":
      return `Field \`${name}\` must be an array of objects.`;
    default:
      return `Field \`${name}\` must be an array of ${elemType}.`;
  }
}

/** Checks (and under coercion converts) one scalar against `type`. */
function checkScalar(
  name: string,
  type: string,
  v: unknown,
  coerce: boolean,
): unknown | typeof BAD | Hard {
  switch (type) {
    case "string":
      if (typeof v === "string") return v;
      if (!coerce) return BAD;
      if (typeof v === "number" || typeof v === "bigint") return String(v);
      if (typeof v === "boolean") return v ? "true" : "false";
      return BAD;
    case "int32":
    case "int64": {
      // A native JSON integer is accepted as is, even beyond int32 (Typesense does not check).
      if (typeof v === "number" && Number.isInteger(v)) return v;
      // beyond 2^53 the exact parser yields a bigint: stored and returned digit for digit
      if (typeof v === "bigint") return v;
      if (!coerce) return BAD;
      let n: number;
      if (typeof v === "number" && Number.isFinite(v)) n = Math.trunc(v);
      else if (typeof v === "boolean") n = v ? 1 : 0;
      else if (typeof v === "string" && INT_STRING.test(v)) n = Number.parseInt(v, 10);
      else return BAD;
      if (type === "int32" && (n > INT32_MAX || n < INT32_MIN)) {
        return new Hard(`Field \`${name}\` exceeds maximum value of int32.`);
      }
      return n;
    }
    case "float":
      if (typeof v === "number") return v;
      if (typeof v === "bigint") return Number(v);
      if (!coerce) return BAD;
      if (typeof v === "boolean") return v ? 1 : 0;
      if (typeof v === "string" && FLOAT_STRING.test(v.trim())) return Number.parseFloat(v);
      return BAD;
    case "bool":
      if (typeof v === "boolean") return v;
      if (!coerce) return BAD;
      if (v === 1) return true;
      if (v === 0) return false;
      if (typeof v === "string") {
        const l = v.toLowerCase();
        if (l === "true") return true;
        if (l === "false") return false;
        // Any other string is an error even under coerce_or_drop.
        return new Hard(scalarMessage(name, "bool"));
      }
      return BAD;
    case "geopoint":
      if (
        Array.isArray(v) &&
        v.length === 2 &&
        typeof v[0] === "number" &&
        typeof v[1] === "number"
      ) {
        return v;
      }
      return BAD;
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v) ? v : BAD;
    default:
      // image, geopolygon, and anything else: accepted as stored.
      return v;
  }
}

/**
 * Validates the value of `field` (present, non-null) and returns the value to store, the
 * DROP marker, or an error text.
 */
function checkField(
  field: Field,
  v: unknown,
  mode: DirtyMode,
): unknown | typeof BAD | typeof NOT_ARRAY | Hard {
  const coerce = mode === "coerce_or_reject" || mode === "coerce_or_drop";
  const type = field.type;
  if (type.endsWith("[]")) {
    const elem = type.slice(0, -2);
    // A non-array is never wrapped; it may be dropped like any mismatch.
    if (!Array.isArray(v)) return NOT_ARRAY;
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      const c = checkScalar(field.name, elem, e, coerce);
      if (c === BAD || c instanceof Hard) return c;
      if (c !== e) {
        out ??= v.slice();
        out[i] = c;
      }
    }
    return out ?? v;
  }
  return checkScalar(field.name, type, v, coerce);
}

/** A field's value, nested paths through objects and arrays of objects (doc.ts readField). */
const readPath = readField;

/** What validateDocument needs to know about the collection. */
export interface ValidationContext {
  /** Concrete schema fields (dynamic patterns excluded), in schema order. */
  fields: readonly Field[];
  /** `default_sorting_field` or "". */
  defaultSortingField: string;
  /** Whether dotted field names address nested objects. */
  nested: boolean;
}

/**
 * Validates `doc` in place against the schema: coerced values are written back, dropped and
 * nulled optional fields are removed. `partial` (update, emplace of an existing doc, PATCH)
 * skips the missing-field checks. Returns the first error text, or undefined.
 */
export function validateDocument(
  doc: Record<string, unknown>,
  ctx: ValidationContext,
  mode: DirtyMode,
  partial: boolean,
): string | undefined {
  if (!partial && ctx.defaultSortingField !== "") {
    const v = readPath(doc, ctx.defaultSortingField, ctx.nested);
    if (v === undefined) {
      return `Field \`${ctx.defaultSortingField}\` has been declared as a default sorting field, but is not found in the document.`;
    }
  }
  const fields = ctx.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const v = readPath(doc, f.name, ctx.nested);
    if (v === undefined) {
      if (partial || f.optional) continue;
      return `Field \`${f.name}\` has been declared in the schema, but is not found in the document.`;
    }
    if (v === null) {
      // An array field set to null becomes [] (even when required); an optional scalar is
      // removed; a required scalar is a type error.
      if (f.type.endsWith("[]")) {
        if (f.name in doc) doc[f.name] = [];
        continue;
      }
      if (f.optional) {
        delete doc[f.name];
        continue;
      }
      return scalarMessage(f.name, f.type);
    }
    const c = checkField(f, v, mode);
    if (c === v) continue;
    if (c instanceof Hard) return c.message;
    if (c === BAD || c === NOT_ARRAY) {
      const canDrop = (mode === "drop" || mode === "coerce_or_drop") && f.optional;
      if (canDrop) {
        delete doc[f.name];
        continue;
      }
      if (c === NOT_ARRAY) return `Field \`${f.name}\` must be an array.`;
      return f.type.endsWith("[]")
        ? arrayMessage(f.name, f.type.slice(0, -2))
        : scalarMessage(f.name, f.type);
    }
    if (f.name in doc) doc[f.name] = c;
  }
  return undefined;
}

/** Infers a concrete type for a value matched by an `auto` field. */
export function inferType(v: unknown): string | undefined {
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int64" : "float";
  if (typeof v === "bigint") return "int64";
  if (Array.isArray(v)) {
    const first = v.find((x) => x !== null && x !== undefined);
    if (first === undefined) return undefined;
    const t = inferType(first);
    return t && !t.endsWith("[]") && t !== "object" ? `${t}[]` : undefined;
  }
  if (typeof v === "object" && v !== null) return "object";
  return undefined;
}
