import type { WindowReader } from "../documents/window-reader.js";

/*
 * "Which of these document ids has no source row now?" — the one question the
 * orphan sweep, the drift audit's extra pass and a rebuild's verify ask
 * (reader.existing applies a document spec's filter: a row it leaves out has
 * no document, exactly as the windows render it).
 */

type Existing = Pick<WindowReader, "existing">;

/** The ids among `ids` without a source row now, in their order. */
export async function idsWithoutRow(reader: Existing, ids: readonly string[]): Promise<string[]> {
  const present = await reader.existing(ids);
  return ids.filter((id) => !present.has(id));
}

/**
 * Every streamed id without a source row, checked `chunkSize` ids at a time
 * while the ids stream (memory: one chunk plus the result). Used on a
 * collection's exported ids: the ids are collected while the export runs and
 * acted on after it (Typesense's export is no stable cursor under deletes).
 */
export async function streamedIdsWithoutRow(
  reader: Existing,
  ids: AsyncIterable<string>,
  chunkSize: number,
): Promise<string[]> {
  const out: string[] = [];
  let chunk: string[] = [];
  for await (const id of ids) {
    chunk.push(id);
    if (chunk.length >= chunkSize) {
      out.push(...(await idsWithoutRow(reader, chunk)));
      chunk = [];
    }
  }
  if (chunk.length > 0) out.push(...(await idsWithoutRow(reader, chunk)));
  return out;
}
