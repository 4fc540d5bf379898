/**
 * pg returns int8 columns as strings (exact, but awkward in JSON). Counters
 * and row counts in the control tables stay far below 2^53, so they are
 * converted to numbers for API responses.
 */
export function withNumbers<T extends object>(row: T, cols: readonly string[]): T {
  const out = { ...row } as Record<string, unknown>;
  for (const c of cols) {
    const v = out[c];
    if (typeof v === "string") out[c] = Number(v);
  }
  return out as unknown as T;
}
