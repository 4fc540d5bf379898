import { createHash } from "node:crypto";
import { loadHashes } from "../db/repositories/doc-hashes.js";
import type { ReadChanged } from "../documents/changed-read.js";
import { documentValuesEqual, parseJson } from "../json/codec.js";
import type { Document, JsonLines } from "../typesense/types.js";
import type { CollectionEnv } from "./context.js";
import type { PreparedWindow, WindowHashes } from "./window-types.js";

/*
 * Re-sync window through content hashes (docs/full-sync.md "Content hashes"):
 *
 *   stored md5 of the window's ids (control DB) -> source query compares them
 *   with md5(<rendering>) and returns only differing / new / gone ids ->
 *   pre-images of THOSE ids only (one export, none when all are unchanged) ->
 *   JS diff of those -> the write phase of window.ts as for any window.
 *
 * A claim is deleted before the write of a doc it names (saveWindowBackups),
 * and a new one stored with the checkpoint only for what Typesense confirmed
 * (checkpointWindow): a crash or failure in between leaves no claim, so the
 * doc is compared again next time, never skipped wrongly.
 */

/** md5 (hex) of a rendered document line: the function the source query uses (md5 of its text). */
export function md5Hex(line: Buffer | string): string {
  return createHash("md5").update(line).digest("hex");
}

export async function prepareResyncWindow(
  ctx: CollectionEnv,
  rows: readonly { seq: number; docId: string }[],
  readChanged: ReadChanged,
): Promise<PreparedWindow> {
  const ids = rows.map((r) => r.docId);
  const collection = ctx.job.collectionName;
  const stored = await loadHashes(ctx.control, ctx.job.id, collection, ids);
  const read = await readChanged(ids, stored);
  const candidates = [...read.changed.map((c) => c.id), ...read.missing];
  const pre: Map<string, Document> =
    candidates.length === 0
      ? new Map()
      : await ctx.retry("export pre-images", () =>
          ctx.backend.getDocuments(collection, candidates),
        );
  const md5 = new Map<string, string>();
  const keep: string[] = [];
  const send: { id: string; doc: string }[] = [];
  for (const c of read.changed) {
    md5.set(c.id, c.md5);
    const old = pre.get(c.id);
    // no (or an outdated) claim, but Typesense holds an equal doc: claimed now
    if (old && documentValuesEqual(old, parseJson(c.doc))) keep.push(c.id);
    else send.push(c);
  }
  const vanished = read.missing.filter((id) => pre.has(id));
  // claims on docs about to change or go: deleted before the write
  const stale = [...send.map((s) => s.id), ...vanished].filter((id) => stored.has(id));
  const hashes: WindowHashes = { md5, keep, stale };
  const unchanged = rows.length - candidates.length + keep.length;
  const rendered = { ids: send.map((s) => s.id), lines: joinLines(send.map((s) => s.doc)) };
  return { rows, changed: [], rendered, pre, unchanged, vanished, bracket: null, hashes };
}

/** JSON texts as an import body (JsonLines: line i ends one byte before starts[i + 1]). */
function joinLines(docs: readonly string[]): JsonLines {
  const parts = docs.map((d) => Buffer.from(d, "utf8"));
  const starts = new Int32Array(parts.length + 1);
  let at = 0;
  parts.forEach((p, i) => {
    starts[i] = at;
    at += p.length + 1;
  });
  starts[parts.length] = at;
  const body = Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from("\n"), p])));
  return { body, count: parts.length, starts };
}
