import { ApiError } from "./errors.js";

/** Field types Typesense accepts in a schema. */
export const FIELD_TYPES = new Set([
  "string",
  "int32",
  "int64",
  "float",
  "bool",
  "geopoint",
  "geopolygon",
  "string[]",
  "int32[]",
  "int64[]",
  "float[]",
  "bool[]",
  "geopoint[]",
  "object",
  "object[]",
  "auto",
  "string*",
  "image",
]);

const SORTABLE_BY_DEFAULT = new Set(["int32", "int64", "float", "bool", "geopoint"]);
const BOOL_PROPS = ["facet", "optional", "index", "sort", "infix"] as const;

/** A normalized schema field (defaults filled in). Extra properties are kept verbatim. */
export interface Field {
  name: string;
  type: string;
  facet: boolean;
  optional: boolean;
  index: boolean;
  sort: boolean;
  infix: boolean;
  locale: string;
  stem: boolean;
  store: boolean;
  stem_dictionary: string;
  [extra: string]: unknown;
}

/** The collection-level settings, as stored and echoed in summaries. */
export interface CollectionSchema {
  name: string;
  fields: Field[];
  default_sorting_field: string;
  enable_nested_fields: boolean;
  token_separators: string[];
  symbols_to_index: string[];
  metadata: Record<string, unknown>;
}

/** True for schema entries that describe a family of fields rather than one field. */
export function isDynamicField(f: { name: string; type: string }): boolean {
  return f.type === "auto" || f.type === "string*" || f.name.includes(".*");
}

export function isArrayType(type: string): boolean {
  return type.endsWith("[]");
}

export function isStringType(type: string): boolean {
  return type === "string" || type === "string[]";
}

export function isNumericType(type: string): boolean {
  return (
    type === "int32" ||
    type === "int64" ||
    type === "float" ||
    type === "int32[]" ||
    type === "int64[]" ||
    type === "float[]"
  );
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const FIELDS_FORMAT =
  "Wrong format for `fields`. It should be an array of objects containing `name`, `type`, `optional` and `facet` properties.";

/**
 * Validates one field definition and fills its defaults. `nested` tells whether object types
 * are allowed. Throws ApiError(400) with Typesense's texts.
 */
export function normalizeField(raw: unknown, nested: boolean): Field {
  if (!isPlainObject(raw) || typeof raw.name !== "string" || typeof raw.type !== "string") {
    throw new ApiError(400, FIELDS_FORMAT);
  }
  const name = raw.name;
  const type = raw.type;
  for (const p of BOOL_PROPS) {
    if (p in raw && typeof raw[p] !== "boolean") {
      throw new ApiError(
        400,
        `The \`${p}\` property of the field \`${name}\` should be a boolean.`,
      );
    }
  }
  if (!FIELD_TYPES.has(type)) {
    throw new ApiError(
      400,
      `Field \`${name}\` has an invalid data type \`${type}\`, see docs for supported data types.`,
    );
  }
  if ((type === "object" || type === "object[]") && !nested) {
    throw new ApiError(
      400,
      "Type `object` or `object[]` can be used only when nested fields are enabled by setting` enable_nested_fields` to true.",
    );
  }
  const dynamic = isDynamicField({ name, type });
  const sortDefault = SORTABLE_BY_DEFAULT.has(type);
  const sort = typeof raw.sort === "boolean" ? raw.sort : sortDefault;
  if (sort && !sortDefault && type !== "string") {
    throw new ApiError(400, `Field \`${name}\` cannot be a sortable field.`);
  }
  const index = raw.index !== false;
  const facet = raw.facet === true;
  if (facet && !index) {
    throw new ApiError(
      400,
      `Field \`${name}\` cannot be a facet since it's marked as non-indexable.`,
    );
  }
  const field: Field = {
    name,
    type,
    facet,
    optional: typeof raw.optional === "boolean" ? raw.optional : dynamic,
    index,
    sort,
    infix: raw.infix === true,
    locale: typeof raw.locale === "string" ? raw.locale : "",
    stem: raw.stem === true,
    store: raw.store !== false,
    stem_dictionary: typeof raw.stem_dictionary === "string" ? raw.stem_dictionary : "",
  };
  // Other properties appear only when set (reference, range_index, num_dim, embed, ...).
  for (const [k, v] of Object.entries(raw)) {
    if (!(k in field) && k !== "drop") field[k] = v;
  }
  return field;
}

function charList(raw: unknown, what: string): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((c) => typeof c !== "string" || c.length !== 1)) {
    throw new ApiError(400, `\`${what}\` should be an array of character symbols.`);
  }
  return raw as string[];
}

/** Validates a POST /collections body in Typesense's order and returns the normalized schema. */
export function parseCollectionSchema(body: unknown): CollectionSchema {
  if (!isPlainObject(body)) throw new ApiError(400, "Bad JSON.");
  if (!("name" in body)) throw new ApiError(400, "Parameter `name` is required.");
  if (typeof body.name !== "string" || body.name.length === 0) {
    throw new ApiError(400, "Parameter `name` must be a non-empty string.");
  }
  if (!("fields" in body)) throw new ApiError(400, "Parameter `fields` is required.");
  if (!Array.isArray(body.fields) || body.fields.length === 0) {
    throw new ApiError(
      400,
      "The `fields` value should be an array of objects containing `name`, `type` and optionally, `facet` properties.",
    );
  }
  if ("enable_nested_fields" in body && typeof body.enable_nested_fields !== "boolean") {
    throw new ApiError(400, "The `enable_nested_fields` property should be a boolean.");
  }
  const nested = body.enable_nested_fields === true;
  const fields: Field[] = [];
  const seen = new Set<string>();
  for (const raw of body.fields) {
    const f = normalizeField(raw, nested);
    if (seen.has(f.name)) throw new ApiError(400, "There are duplicate field names in the schema.");
    seen.add(f.name);
    // A schema field named `id` is silently ignored: the document id is implicit.
    if (f.name !== "id") fields.push(f);
  }
  const dsf = body.default_sorting_field;
  let defaultSortingField = "";
  if (dsf !== undefined && dsf !== "") {
    if (typeof dsf !== "string") throw new ApiError(400, "Bad JSON.");
    if (dsf === "id") {
      throw new ApiError(400, "Invalid `default_sorting_field` value: cannot be `id`.");
    }
    const f = fields.find((x) => x.name === dsf);
    if (!f) {
      throw new ApiError(
        400,
        `Default sorting field is defined as \`${dsf}\` but is not found in the schema.`,
      );
    }
    if (!SORTABLE_BY_DEFAULT.has(f.type) && f.type !== "string") {
      throw new ApiError(400, `Default sorting field \`${dsf}\` is not a sortable type.`);
    }
    if (f.optional) {
      throw new ApiError(400, `Default sorting field \`${dsf}\` cannot be an optional field.`);
    }
    defaultSortingField = dsf;
  }
  const metadata = isPlainObject(body.metadata) ? body.metadata : {};
  return {
    name: body.name,
    fields,
    default_sorting_field: defaultSortingField,
    enable_nested_fields: nested,
    token_separators: charList(body.token_separators, "token_separators"),
    symbols_to_index: charList(body.symbols_to_index, "symbols_to_index"),
    metadata,
  };
}

/** The collection summary returned by create/get/list/delete. */
export function collectionSummary(
  schema: CollectionSchema,
  numDocuments: number,
  createdAt: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    created_at: createdAt,
    default_sorting_field: schema.default_sorting_field,
    enable_nested_fields: schema.enable_nested_fields,
    fields: schema.fields,
    name: schema.name,
    num_documents: numDocuments,
    symbols_to_index: schema.symbols_to_index,
    token_separators: schema.token_separators,
  };
  if (Object.keys(schema.metadata).length > 0) out.metadata = schema.metadata;
  return out;
}

/** One parsed PATCH /collections/:c field entry. */
export type AlterOp = { drop: string } | { add: Field };

/**
 * Validates a PATCH /collections/:c body against the current schema and returns the field
 * operations in order plus the normalized echo. Document-dependent checks happen in the caller.
 */
export function parseAlter(
  body: unknown,
  schema: CollectionSchema,
): { ops: AlterOp[]; metadata?: Record<string, unknown>; echo: Record<string, unknown> } {
  if (!isPlainObject(body)) throw new ApiError(400, "Bad JSON.");
  const keys = Object.keys(body);
  if (keys.length === 0) throw new ApiError(400, "Alter payload is empty.");
  if (keys.some((k) => k !== "fields" && k !== "metadata")) {
    throw new ApiError(400, "Only `fields` and `metadata` can be updated at the moment.");
  }
  const echo: Record<string, unknown> = {};
  const ops: AlterOp[] = [];
  let metadata: Record<string, unknown> | undefined;
  if ("metadata" in body) {
    if (!isPlainObject(body.metadata))
      throw new ApiError(400, "The `metadata` value should be an object.");
    metadata = body.metadata;
    echo.metadata = metadata;
  }
  if ("fields" in body) {
    if (!Array.isArray(body.fields)) {
      throw new ApiError(
        400,
        "The `fields` value should be an array of objects containing `name`, `type` and optionally, `facet` properties.",
      );
    }
    const present = new Set(schema.fields.map((f) => f.name));
    const echoed: unknown[] = [];
    for (const raw of body.fields) {
      if (isPlainObject(raw) && raw.drop === true) {
        if (typeof raw.name !== "string") throw new ApiError(400, FIELDS_FORMAT);
        if (!present.has(raw.name)) {
          throw new ApiError(400, `Field \`${raw.name}\` is not part of collection schema.`);
        }
        present.delete(raw.name);
        ops.push({ drop: raw.name });
        echoed.push({ drop: true, name: raw.name });
        continue;
      }
      const f = normalizeField(raw, schema.enable_nested_fields);
      if (present.has(f.name)) {
        throw new ApiError(
          400,
          `Field \`${f.name}\` is already part of the schema: To change this field, drop it first before adding it back to the schema.`,
        );
      }
      present.add(f.name);
      ops.push({ add: f });
      echoed.push(f);
    }
    echo.fields = echoed;
  }
  return metadata ? { ops, metadata, echo } : { ops, echo };
}
