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
 * id column. A row that cannot become a document is returned as a failure.
 */
export function rowOps(
  t: JobTarget & { idColumn: string },
  ev: RowEvent,
): { ops: PendingOp[] } | { failure: Rejection } {
  const idOf = (tuple: TextTuple | null) => tuple?.[t.idColumn] ?? undefined;
  try {
    if (ev.kind === "delete") {
      const id = idOf(ev.key) ?? idOf(ev.old);
      if (id === undefined) throw new Error("the delete carries no document id");
      return { ops: [{ kind: "delete", id }] };
    }
    const row = ev.new;
    const partial = t.mapper.columns.some((c) => row[c.name] === undefined);
    const oldId = ev.kind === "update" ? (idOf(ev.key) ?? idOf(ev.old)) : undefined;
    const newId = idOf(row) ?? oldId;
    if (newId === undefined) throw new Error("the row carries no document id");
    const doc = t.mapper.rowToDocument({ ...row, [t.idColumn]: newId }, { explicitNulls: partial });
    const op: PendingOp = partial
      ? { kind: "partial", id: doc.id, doc }
      : { kind: "upsert", id: doc.id, doc };
    // the document id changed (primary key update): the old doc must go
    if (oldId !== undefined && oldId !== newId) return { ops: [{ kind: "delete", id: oldId }, op] };
    return { ops: [op] };
  } catch (e) {
    const id =
      idOf(ev.kind === "delete" ? ev.key : ev.new) ??
      idOf(ev.kind === "insert" ? null : ev.old) ??
      "";
    return {
      failure: {
        jobId: t.jobId,
        docId: id,
        operation: ev.kind === "delete" ? "delete" : "upsert",
        payload: null,
        code: null,
        error: e instanceof Error ? e.message : String(e),
      },
    };
  }
}
