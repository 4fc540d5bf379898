import type { DocumentValue } from "../json/codec.js";

/**
 * Wire types shared by documents/ (which builds documents and schemas) and
 * typesense/ (which sends them). Document values follow the number/bigint
 * invariant of json/codec.ts (DocumentValue is defined there).
 */
export type { DocumentValue };

/** A Typesense document: `id` is always a string. */
export interface Document {
  id: string;
  [field: string]: DocumentValue;
}

export type TypesenseFieldType =
  | "string"
  | "int32"
  | "int64"
  | "float"
  | "bool"
  | "geopoint"
  | "string[]"
  | "int32[]"
  | "int64[]"
  | "float[]"
  | "bool[]"
  | "geopoint[]"
  | "object"
  | "object[]"
  | "auto"
  | "string*";

/** One field of a collection schema, as POSTed to /collections. */
export interface TypesenseField {
  name: string;
  type: TypesenseFieldType | (string & {});
  optional?: boolean;
  index?: boolean;
  facet?: boolean;
  sort?: boolean;
  infix?: boolean;
  locale?: string;
  store?: boolean;
  stem?: boolean;
  range_index?: boolean;
  num_dim?: number;
  embed?: Record<string, unknown>;
}

/** Body of POST /collections. */
export interface CollectionSchema {
  name: string;
  fields: TypesenseField[];
  enable_nested_fields?: boolean;
  default_sorting_field?: string;
  token_separators?: string[];
  symbols_to_index?: string[];
  /** Free-form collection metadata; the sidecar's ownership mark lives here (collection-owner.ts). */
  metadata?: Record<string, unknown>;
}

/**
 * JSONL already joined into one body: `count` compact JSON lines separated by
 * "\n" (no trailing newline). `starts[i]` is where line i begins and
 * `starts[count]` is body.length + 1, so line i is
 * body[starts[i], starts[i + 1] - 1). Built without one Buffer per line.
 */
export interface JsonLines {
  readonly body: Buffer;
  readonly count: number;
  readonly starts: Int32Array;
}

/** Line i of a JsonLines body (a view, not a copy). */
export function jsonLine(lines: JsonLines, i: number): Buffer {
  return lines.body.subarray(lines.starts[i]!, lines.starts[i + 1]! - 1);
}
