/**
 * The one way a forced filter meets a caller's: `(<forced>) && (<caller>)`,
 * which is safe BY CONSTRUCTION only if each part is one balanced expression.
 * Typesense's grammar (reference/typesense-api.md section 6): `&&`, `||`,
 * parentheses, values quoted in backticks. A part is balanced when, scanning
 * it outside backtick quotes, the parenthesis depth never goes below zero and
 * ends at zero, and every backtick quote is closed. Then no text of the
 * caller's part can close the parenthesis it is put in (a `)` inside a
 * quote is a value character to Typesense as well), so `||` in it stays
 * inside: the forced part is AND-ed with the whole of the caller's part.
 *
 * A backslash before a backtick is refused (no parser may read it as an
 * escape and disagree with this scan on where a quote ends).
 * A `$` outside quotes is refused too: it starts a join (`$other(...)`), a
 * filter on ANOTHER collection, which the key may not be allowed to read.
 */
export type FilterCheck = { ok: true } | { ok: false; why: string };

export function checkFilterPart(part: string): FilterCheck {
  // Typesense has no escape inside backticks; refusing "\`" keeps this scanner and
  // any parser that did have one from ever disagreeing on where a quote ends
  if (part.includes("\\`")) return { ok: false, why: "escaped backtick" };
  let depth = 0;
  let quoted = false;
  for (const ch of part) {
    if (ch === "`") {
      quoted = !quoted;
      continue;
    }
    if (quoted) continue;
    if (ch === "(") depth++;
    else if (ch === ")" && --depth < 0) return { ok: false, why: "unbalanced parentheses" };
    else if (ch === "$") return { ok: false, why: "joins ($collection) are not allowed" };
  }
  if (quoted) return { ok: false, why: "unclosed backtick" };
  if (depth !== 0) return { ok: false, why: "unbalanced parentheses" };
  return { ok: true };
}

/**
 * `(f1) && (f2) && ... && (caller)` for the non-blank parts, in that order;
 * undefined when there is none. Every part must pass checkFilterPart (the
 * caller checks first: a refused caller part is a 400, a refused forced part
 * a misconfigured key).
 */
export function andFilters(parts: readonly (string | undefined)[]): string | undefined {
  const kept = parts.filter((p): p is string => p !== undefined && p.trim() !== "");
  if (kept.length === 0) return undefined;
  return kept.map((p) => `(${p})`).join(" && ");
}
