/**
 * Builds `id:[...]` filters for export/delete by id.
 *
 * Every id is backtick-quoted, which lets commas, brackets, spaces and
 * operators appear inside it. Typesense has no escape for a backtick inside a
 * quoted value and rejects an empty value, so ids that contain a backtick, are
 * empty, or start/end with whitespace (which some versions trim) cannot be
 * matched by a filter: callers use the single-document endpoints for those.
 *
 * Ids are chunked so that one URL-encoded filter stays under `maxEncodedLength`
 * (Typesense caps GET query strings at 4000 characters for search, and proxies
 * cap URLs too).
 */
export function isFilterSafeId(id: string): boolean {
  return id !== "" && !id.includes("`") && id.trim() === id;
}

export function idFilterChunks(ids: readonly string[], maxEncodedLength: number): string[] {
  const chunks: string[] = [];
  let parts: string[] = [];
  // "id:[" + "]" encoded, plus a comma per element
  const overhead = encodeURIComponent("id:[]").length;
  let size = overhead;
  for (const id of ids) {
    const part = `\`${id}\``;
    const cost = encodeURIComponent(part).length + 3; // "%2C"
    if (parts.length > 0 && size + cost > maxEncodedLength) {
      chunks.push(`id:[${parts.join(",")}]`);
      parts = [];
      size = overhead;
    }
    parts.push(part);
    size += cost;
  }
  if (parts.length > 0) chunks.push(`id:[${parts.join(",")}]`);
  return chunks;
}
