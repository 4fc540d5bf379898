import type { NumColumn } from "./column.js";
import { isPlainObject, readField, sortKeys } from "./doc.js";
import { compileDynamicFields, type DynamicField, dynamicFieldsFor } from "./dynamic-fields.js";
import { ApiError, fail, type WriteResult } from "./errors.js";
import { indexDoc, reindexDoc, syncIndexes } from "./field-indexes.js";
import {
  type AlterOp,
  type CollectionSchema,
  collectionSummary,
  type Field,
  isDynamicField,
} from "./schema.js";
import type { TokenizerOptions } from "./text.js";
import type { TextIndex } from "./text-index.js";
import { type DirtyMode, validateDocument } from "./validate.js";

export { readField, sortKeys } from "./doc.js";

/** Write actions of the document and import endpoints. */
export type WriteAction = "create" | "upsert" | "update" | "emplace";

/**
 * A stored document. `seq` is its position in `bySeq`: ascending seq = first-insert order
 * (export order, newest-first order). Only the collection changes it, when it renumbers all
 * live docs in order to drop the holes left by deletions.
 */
export interface StoredDoc {
  seq: number;
  readonly id: string;
  doc: Record<string, unknown>;
}

/**
 * One collection: schema, documents and text indexes. All methods are synchronous, so each
 * request applies atomically with respect to other requests.
 */
export class Collection {
  schema: CollectionSchema;
  readonly createdAt: number;
  /** Creation order, to list collections newest first when created in the same second. */
  readonly serial: number;
  readonly docs = new Map<string, StoredDoc>();
  /** Docs by seq id; holes are deleted docs. Ascending seq = first-insert order. */
  readonly bySeq: (StoredDoc | undefined)[] = [];
  readonly textIndexes = new Map<string, TextIndex>();
  /** Scalar numeric/bool fields by name (maintained for live docs; deleted seqs are stale). */
  readonly columns = new Map<string, NumColumn>();
  /**
   * Raw value of every facet field by seq: counting facets over many matches reads an array
   * instead of doing a dynamic property lookup on each document.
   */
  readonly values = new Map<string, unknown[]>();
  #concrete: Field[] = [];
  #dynamic: DynamicField[] = [];
  #byName = new Map<string, Field>();
  #tokenizer: TokenizerOptions = { separators: new Set(), symbols: new Set() };
  /** Auto-id counter in null-sink mode, where nothing is stored. */
  #sinkSeq = 0;
  /** Deleted docs since the last renumbering (holes in bySeq, stale postings). */
  #dead = 0;
  /**
   * Typesense's sequence number: counts every doc ever created, never decreases (renumbering
   * and truncation included). Auto ids are this number as a string.
   */
  #created = 0;

  constructor(schema: CollectionSchema, createdAt: number, serial: number) {
    this.schema = schema;
    this.createdAt = createdAt;
    this.serial = serial;
    this.#refreshSchema();
  }

  get name(): string {
    return this.schema.name;
  }

  get tokenizer(): TokenizerOptions {
    return this.#tokenizer;
  }

  get hasDynamicFields(): boolean {
    return this.#dynamic.length > 0;
  }

  /** Concrete (non-pattern) field by name. */
  field(name: string): Field | undefined {
    return this.#byName.get(name);
  }

  summary(): Record<string, unknown> {
    return collectionSummary(this.schema, this.docs.size, this.createdAt);
  }

  #refreshSchema(): void {
    this.#concrete = this.schema.fields.filter((f) => !isDynamicField(f));
    this.#dynamic = compileDynamicFields(this.schema.fields);
    this.#byName = new Map(this.#concrete.map((f) => [f.name, f]));
    const chars = (xs: string[]) => new Set(xs.map((c) => c.charCodeAt(0)));
    this.#tokenizer = {
      separators: chars(this.schema.token_separators),
      symbols: chars(this.schema.symbols_to_index),
    };
    // The indexes live on this object (field-indexes.ts keeps them in step with the schema).
    syncIndexes(this, this.#concrete, this.#byName, this.docs, this.#tokenizer, this.#nested);
  }

  get #nested(): boolean {
    return this.schema.enable_nested_fields;
  }

  /**
   * Deleted docs leave holes in bySeq, the columns and the posting arrays (readers skip dead
   * seqs). Once they outnumber the live docs, live docs are renumbered 0..n-1 in the same
   * order and every index is rebuilt: amortized O(1) per delete, and memory stays
   * proportional to the live data however many docs came and went.
   */
  #noteDeleted(n: number): void {
    this.#dead += n;
    if (this.#dead > 1000 && this.#dead > this.docs.size) this.#renumber();
  }

  #renumber(): void {
    const live = [...this.ascending()];
    this.bySeq.length = 0;
    for (let i = 0; i < live.length; i++) {
      live[i]!.seq = i;
      this.bySeq.push(live[i]);
    }
    // docs (a Map) iterates in creation order = ascending seq, which the rebuild relies on.
    this.textIndexes.clear();
    this.columns.clear();
    this.values.clear();
    this.#dead = 0;
    this.#refreshSchema();
  }

  /** The next auto id of a null sink (nothing is stored, so the counter is its own). */
  nextSinkId(): string {
    return String(this.#sinkSeq++);
  }

  /**
   * Validates and applies one document write. With `nullSink` nothing is read or stored: every
   * id counts as new, and update validates the given fields only.
   */
  write(input: unknown, action: WriteAction, mode: DirtyMode, nullSink = false): WriteResult {
    if (!isPlainObject(input)) return fail(400, "Bad JSON: not a properly formed document.");
    const rawId = input.id;
    let id: string;
    if (rawId === undefined) {
      if (action === "update") return fail(400, "For update, the `id` key must be provided.");
      // Auto ids are the seq number as a string ("0", "1", ...).
      id = nullSink ? this.nextSinkId() : String(this.#created);
    } else if (typeof rawId !== "string") {
      return fail(400, "Document's `id` field should be a string.");
    } else if (rawId === "") {
      return fail(400, "The `id` should not be empty.");
    } else {
      id = rawId;
    }
    const existing = nullSink ? undefined : this.docs.get(id);
    if (action === "create" && existing) {
      return fail(409, `A document with id ${id} already exists.`);
    }
    if (action === "update" && !existing && !nullSink) {
      return fail(404, `Could not find a document with id: ${id}`);
    }
    const partial = (action === "update" || action === "emplace") && (existing || nullSink);
    // Merge-patch: a null in a partial write removes the key; remember them before validation
    // removes optional nulls from the input.
    let nullKeys: string[] | undefined;
    if (partial) {
      for (const k in input) {
        if (input[k] !== null) continue;
        nullKeys ??= [];
        nullKeys.push(k);
      }
    }
    // `input` is a freshly parsed object owned by this request, so it is validated (coerced,
    // pruned) in place instead of copied.
    const doc = input;
    if (rawId === undefined) doc.id = id;
    const extra =
      this.#dynamic.length > 0 ? dynamicFieldsFor(doc, this.#byName, this.#dynamic) : [];
    const fields = extra.length > 0 ? [...this.#concrete, ...extra] : this.#concrete;
    const ctx = {
      fields,
      defaultSortingField: this.schema.default_sorting_field,
      nested: this.schema.enable_nested_fields,
    };
    const error = validateDocument(doc, ctx, mode, Boolean(partial));
    if (error !== undefined) return fail(400, error);
    if (nullSink) return { ok: true, id, doc };
    if (extra.length > 0) {
      this.schema = { ...this.schema, fields: [...this.schema.fields, ...extra] };
      this.#refreshSchema();
    }
    let next: Record<string, unknown>;
    if (partial && existing) {
      next = { ...existing.doc };
      for (const k in doc) next[k] = doc[k];
      if (nullKeys)
        for (const k of nullKeys) if (doc[k] === undefined || doc[k] === null) delete next[k];
    } else {
      next = doc;
    }
    return { ok: true, id, doc: this.#store(id, sortKeys(next), existing) };
  }

  #store(id: string, doc: Record<string, unknown>, existing: StoredDoc | undefined) {
    if (existing) {
      const before = existing.doc;
      existing.doc = doc;
      reindexDoc(this, existing.seq, before, doc, this.#tokenizer, this.#nested);
      return doc;
    }
    const stored: StoredDoc = { seq: this.bySeq.length, id, doc };
    this.#created++;
    this.bySeq.push(stored);
    this.docs.set(id, stored);
    indexDoc(this, stored, this.#tokenizer, this.#nested);
    return doc;
  }

  /** Removes a document; returns it, or undefined when absent. */
  remove(id: string): StoredDoc | undefined {
    const d = this.docs.get(id);
    if (!d) return undefined;
    this.docs.delete(id);
    this.bySeq[d.seq] = undefined;
    for (const vals of this.values.values()) vals[d.seq] = undefined;
    this.#noteDeleted(1);
    return d;
  }

  /** Deletes every document (truncate); auto ids keep counting up. */
  clear(): number {
    const n = this.docs.size;
    this.docs.clear();
    // renumber rebuilds from bySeq: empty it first or the docs would come back
    this.bySeq.length = 0;
    this.#renumber();
    return n;
  }

  /** Live documents in ascending seq order. */
  *ascending(): Generator<StoredDoc> {
    for (const d of this.bySeq) if (d !== undefined) yield d;
  }

  /** Applies validated PATCH /collections field operations. Throws ApiError on conflicts. */
  alter(ops: AlterOp[], metadata: Record<string, unknown> | undefined): void {
    let fields = [...this.schema.fields];
    for (const op of ops) {
      if ("drop" in op) {
        fields = fields.filter((f) => f.name !== op.drop);
        continue;
      }
      const f = op.add;
      if (!f.optional && !isDynamicField(f)) {
        const ctx = {
          fields: [f],
          defaultSortingField: "",
          nested: this.schema.enable_nested_fields,
        };
        for (const d of this.docs.values()) {
          if (readField(d.doc, f.name, ctx.nested) === undefined) {
            throw new ApiError(
              400,
              `Field \`${f.name}\` has been declared in the schema, but is not found in the documents already present in the collection. If you still want to add this field, set it as \`optional: true\`.`,
            );
          }
          const err = validateDocument({ ...d.doc }, ctx, "reject", false);
          if (err) throw new ApiError(400, err);
        }
      }
      fields.push(f);
    }
    const dropped = new Set(ops.flatMap((o) => ("drop" in o ? [o.drop] : [])));
    const readded = new Set(ops.flatMap((o) => ("add" in o ? [o.add.name] : [])));
    // A dropped (or re-typed) field's index is rebuilt from scratch.
    for (const name of dropped) this.textIndexes.delete(name);
    for (const name of readded) this.textIndexes.delete(name);
    for (const name of [...dropped, ...readded]) {
      this.columns.delete(name);
      this.values.delete(name);
    }
    this.schema = { ...this.schema, fields, metadata: metadata ?? this.schema.metadata };
    this.#refreshSchema();
  }
}
