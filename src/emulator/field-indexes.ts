import { NumColumn } from "./column.js";
import { readField } from "./doc.js";
import { type Field, isStringType } from "./schema.js";
import { type TokenizerOptions, tokenize } from "./text.js";
import { TextIndex } from "./text-index.js";

const NUMERIC_SCALAR = new Set(["int32", "int64", "float", "bool"]);

/**
 * The per-field indexes of a collection (collection.ts), kept for live docs by seq (deleted
 * seqs are stale; readers skip them): text postings of indexed string fields, numeric columns
 * of scalar int32/int64/float/bool fields, and the raw value of every facet field.
 */
export interface FieldIndexes {
  readonly textIndexes: Map<string, TextIndex>;
  readonly columns: Map<string, NumColumn>;
  readonly values: Map<string, unknown[]>;
}

interface IndexedDoc {
  readonly seq: number;
  readonly doc: Record<string, unknown>;
}

/**
 * Matches the indexes to the schema's concrete fields: builds the missing ones from `docs`
 * (iterated in ascending seq order) and drops those whose field is gone or no longer fits.
 */
export function syncIndexes(
  ix: FieldIndexes,
  concrete: readonly Field[],
  byName: ReadonlyMap<string, Field>,
  docs: ReadonlyMap<string, IndexedDoc>,
  tokenizer: TokenizerOptions,
  nested: boolean,
): void {
  for (const f of concrete) {
    if (f.index && isStringType(f.type) && !ix.textIndexes.has(f.name)) {
      const idx = new TextIndex();
      ix.textIndexes.set(f.name, idx);
      for (const d of docs.values()) idx.add(d.seq, fieldTokens(d.doc, f.name, tokenizer, nested));
    }
  }
  for (const f of concrete) {
    if (NUMERIC_SCALAR.has(f.type) && !ix.columns.has(f.name)) {
      const col = new NumColumn();
      ix.columns.set(f.name, col);
      for (const d of docs.values()) col.set(d.seq, readField(d.doc, f.name, nested));
    }
  }
  for (const f of concrete) {
    if (f.facet && !ix.values.has(f.name)) {
      const vals: unknown[] = [];
      ix.values.set(f.name, vals);
      for (const d of docs.values()) vals[d.seq] = readField(d.doc, f.name, nested);
    }
  }
  for (const name of [...ix.values.keys()]) if (!byName.has(name)) ix.values.delete(name);
  for (const name of [...ix.columns.keys()]) {
    const f = byName.get(name);
    if (!f || !NUMERIC_SCALAR.has(f.type)) ix.columns.delete(name);
  }
  for (const name of [...ix.textIndexes.keys()]) {
    const f = byName.get(name);
    if (!f?.index || !isStringType(f.type)) ix.textIndexes.delete(name);
  }
}

/** Indexes a new doc (its seq is the highest so far). */
export function indexDoc(
  ix: FieldIndexes,
  d: IndexedDoc,
  tokenizer: TokenizerOptions,
  nested: boolean,
): void {
  for (const [name, idx] of ix.textIndexes) {
    const v = readField(d.doc, name, nested);
    if (typeof v === "string") idx.addText(d.seq, v, tokenizer);
    else if (Array.isArray(v)) {
      for (const e of v) if (typeof e === "string") idx.addText(d.seq, e, tokenizer);
    }
  }
  for (const [name, col] of ix.columns) col.set(d.seq, readField(d.doc, name, nested));
  for (const [name, vals] of ix.values) vals[d.seq] = readField(d.doc, name, nested);
}

/** Re-indexes only the tokens that changed between two versions of a live doc. */
export function reindexDoc(
  ix: FieldIndexes,
  seq: number,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  tokenizer: TokenizerOptions,
  nested: boolean,
): void {
  for (const [name, idx] of ix.textIndexes) {
    const a = readField(before, name, nested);
    const b = readField(after, name, nested);
    if (a === b) continue;
    idx.update(
      seq,
      fieldTokens(before, name, tokenizer, nested),
      fieldTokens(after, name, tokenizer, nested),
    );
  }
  for (const [name, col] of ix.columns) col.set(seq, readField(after, name, nested));
  for (const [name, vals] of ix.values) vals[seq] = readField(after, name, nested);
}

function fieldTokens(
  doc: Record<string, unknown>,
  name: string,
  tokenizer: TokenizerOptions,
  nested: boolean,
): string[] {
  const v = readField(doc, name, nested);
  if (typeof v === "string") return tokenize(v, tokenizer);
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const e of v) if (typeof e === "string") out.push(...tokenize(e, tokenizer));
    return out;
  }
  return [];
}
