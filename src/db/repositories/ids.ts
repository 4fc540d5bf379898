const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a syntactically valid uuid; a malformed id can never match a row. */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}
