import { parseJson, serializeDocument } from "../json/codec.js";
import type { Document } from "../typesense/types.js";

/**
 * One pending write for one document id:
 * - upsert:  the whole document (insert, update with every value known), as
 *            an object or already serialized (`line`, the JSONL of
 *            serializeDocument: what the stream's row changes carry, so the
 *            batch holds one flat string per document instead of an object
 *            graph, and nothing is serialized twice);
 * - partial: only the known fields (an update whose unchanged TOAST values the
 *            server did not send), NULLs explicit; written with action
 *            "update", and re-read from the source when the doc is missing;
 * - delete;
 * - render:  a document spec job's root whose document is read again from the
 *            source when written (the spec's one statement, byIds): upserted
 *            when the root exists and passes the filter, else deleted. Spec
 *            jobs never derive a document from the WAL tuple, so this is the
 *            only op of theirs that names a document;
 * - fanout:  the roots a changed lookup or child row names through `route`
 *            (root-routes.ts), found when written, page by page, and rendered
 *            like `render`. Its `id` is a synthetic key (route and key tuple),
 *            so the same key changing twice is written once.
 */
export type PendingOp =
  | { kind: "upsert"; id: string; doc: Document }
  | { kind: "upsert"; id: string; line: string }
  | { kind: "partial"; id: string; doc: Document }
  | { kind: "delete"; id: string }
  | { kind: "render"; id: string }
  | { kind: "fanout"; id: string; route: number; key: (string | null)[] };

export type UpsertOp = Extract<PendingOp, { kind: "upsert" }>;

/** The document of an upsert (parsed back from its line: dead letters, coalescing). */
export function upsertDoc(op: UpsertOp): Document {
  return "line" in op ? (parseJson(op.line) as Document) : op.doc;
}

/** The JSONL line of an upsert. */
export function upsertLine(op: UpsertOp): string {
  return "line" in op ? op.line : serializeDocument(op.doc);
}

/**
 * Folds `next` into the op already pending for the same id, so that writing
 * the result has the same effect as writing both in order (last write wins):
 *
 *   prev \ next | upsert  | partial              | delete
 *   ------------+---------+----------------------+-------
 *   (none)      | upsert  | partial              | delete
 *   upsert      | upsert  | upsert(prev + next)  | delete
 *   partial     | upsert  | partial(prev + next) | delete
 *   delete      | upsert  | partial (*)          | delete
 *
 * (*) cannot happen in Postgres (an UPDATE needs the row to exist again, so an
 * INSERT comes first); kept as a partial, which re-reads the row if the doc is
 * missing.
 */
export function coalesce(prev: PendingOp | undefined, next: PendingOp): PendingOp {
  if (!prev || next.kind !== "partial") return next;
  if (prev.kind === "upsert") {
    const doc: Document = { ...upsertDoc(prev) };
    for (const [k, v] of Object.entries(next.doc)) {
      // a full document leaves NULL fields out; a partial sends them as null
      if (v === null) delete doc[k];
      else doc[k] = v;
    }
    doc.id = next.id;
    return { kind: "upsert", id: next.id, doc };
  }
  if (prev.kind === "partial") {
    return { kind: "partial", id: next.id, doc: { ...prev.doc, ...next.doc, id: next.id } };
  }
  return next;
}

/**
 * The pending writes of one job: at most one op per document id (coalesced),
 * ids in first-seen order. Ops for different ids are independent documents,
 * so their relative order does not matter; for one id only the folded result
 * is written.
 */
export class JobBatch {
  readonly #ops = new Map<string, PendingOp>();

  get size(): number {
    return this.#ops.size;
  }

  add(op: PendingOp): void {
    // only a partial folds into what is pending; anything else replaces it (same entry, so the
    // id keeps its first-seen position)
    this.#ops.set(op.id, op.kind === "partial" ? coalesce(this.#ops.get(op.id), op) : op);
  }

  /** Removes and returns everything pending. */
  take(): PendingOp[] {
    const ops = [...this.#ops.values()];
    this.#ops.clear();
    return ops;
  }

  clear(): void {
    this.#ops.clear();
  }
}
