import { serializeDocument } from "../json/codec.js";
import type { PendingOp } from "./batch.js";
import type { RowEvent, TextTuple } from "./events.js";
import type { JobTarget, Rejection } from "./writer.js";

/**
 * The document ops of one row change for one job:
 *
 *   insert                         -> upsert(new)
 *   update, every value known      -> upsert(new)
 *   update, unchanged TOAST values -> partial(known values, NULLs explicit)
 *   update that changed the doc id -> delete(old id), then upsert/partial(new)
 *   delete                         -> delete(id from the replica identity)
 *
 * The old id comes from `key` (DEFAULT/INDEX identity: only when the key
 * changed) or `old` (FULL identity); setup makes sure one of them carries the
 * id column. The ops go to `emit` in order (no array per change); a row that
 * cannot become a document emits nothing and is returned as a failure.
 * A full document is serialized here, once: the batch holds its JSONL line.
 */
export function rowOps(
  t: JobTarget & { idColumn: string },
  ev: RowEvent,
  emit: (op: PendingOp) => void,
): Rejection | undefined {
  const idCol = t.idColumn;
  try {
    if (ev.kind === "delete") {
      const id = idOf(ev.key, idCol) ?? idOf(ev.old, idCol);
      if (id === undefined) throw new Error("the delete carries no document id");
      emit({ kind: "delete", id });
      return undefined;
    }
    const row = ev.new;
    let partial = false;
    for (const c of t.mapper.columns) {
      if (row[c.name] === undefined) {
        partial = true;
        break;
      }
    }
    const oldId = ev.kind === "update" ? (idOf(ev.key, idCol) ?? idOf(ev.old, idCol)) : undefined;
    const newId = idOf(row, idCol) ?? oldId;
    if (newId === undefined) throw new Error("the row carries no document id");
    // (a copy only when the id must come from the old key: no spread per row)
    const source = row[idCol] === newId ? row : { ...row, [idCol]: newId };
    const doc = t.mapper.rowToDocument(source, partial ? EXPLICIT_NULLS : undefined);
    const op: PendingOp = partial
      ? { kind: "partial", id: doc.id, doc }
      : { kind: "upsert", id: doc.id, line: serializeDocument(doc) };
    // the document id changed (primary key update): the old doc must go first
    if (oldId !== undefined && oldId !== newId) emit({ kind: "delete", id: oldId });
    emit(op);
    return undefined;
  } catch (e) {
    const id =
      idOf(ev.kind === "delete" ? ev.key : ev.new, idCol) ??
      idOf(ev.kind === "insert" ? null : ev.old, idCol) ??
      "";
    return {
      jobId: t.jobId,
      docId: id,
      operation: ev.kind === "delete" ? "delete" : "upsert",
      payload: null,
      code: null,
      error: e instanceof Error ? e.message : String(e),
    };
  }
}

const EXPLICIT_NULLS = { explicitNulls: true } as const;

function idOf(tuple: TextTuple | null, idColumn: string): string | undefined {
  return tuple?.[idColumn] ?? undefined;
}
