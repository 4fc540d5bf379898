/**
 * Parser for Postgres array text literals as produced by array_out (which is
 * what pgoutput sends and what `textin(array_out(col))` returns), e.g.
 * `{1,NULL,"a \"q\", b",{2,3}}` or `[0:1]={a,b}`.
 *
 * Quoted elements are always strings; an unquoted `NULL` (any case) is null.
 * Nested levels become nested JS arrays; callers flatten when they want to.
 */
export type PgArrayItem = string | null | PgArrayItem[];

export class PgArrayParseError extends Error {
  override readonly name = "PgArrayParseError";
}

export function parsePgArray(text: string, delimiter = ","): PgArrayItem[] {
  let i = 0;
  // Optional dimension decoration for non-default lower bounds: "[1:3][0:1]={...}".
  if (text.startsWith("[")) {
    const eq = text.indexOf("=");
    if (eq < 0) throw new PgArrayParseError(`malformed array literal: ${preview(text)}`);
    i = eq + 1;
  }
  const fail = (what: string): never => {
    throw new PgArrayParseError(`malformed array literal (${what} at ${i}): ${preview(text)}`);
  };
  const isSpace = (c: string | undefined) =>
    c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\v" || c === "\f";
  const skipSpace = () => {
    while (isSpace(text[i])) i++;
  };

  const parseLevel = (): PgArrayItem[] => {
    // precondition: text[i] === "{"
    i++;
    const out: PgArrayItem[] = [];
    skipSpace();
    if (text[i] === "}") {
      i++;
      return out;
    }
    for (;;) {
      skipSpace();
      const c = text[i];
      if (c === undefined) fail("unterminated array");
      if (c === "{") {
        out.push(parseLevel());
      } else if (c === '"') {
        // Copy runs between escapes with slice: elements can be megabytes long.
        i++;
        let s = "";
        for (;;) {
          const q = text.indexOf('"', i);
          const b = text.indexOf("\\", i);
          if (q < 0) fail("unterminated quoted element");
          if (b >= 0 && b < q) {
            if (b + 1 >= text.length) fail("dangling backslash");
            s += text.slice(i, b) + text[b + 1];
            i = b + 2;
            continue;
          }
          s += text.slice(i, q);
          i = q + 1;
          break;
        }
        out.push(s);
      } else {
        // Unquoted: up to the next delimiter or '}'. array_out never escapes
        // inside unquoted elements, but array_in accepts it, so honour it.
        const start = i;
        let sawBackslash = false;
        for (;;) {
          const ch = text[i];
          if (ch === undefined) fail("unterminated array");
          if (ch === delimiter || ch === "}") break;
          if (ch === "\\") {
            sawBackslash = true;
            i++;
          }
          i++;
        }
        let s = text.slice(start, i).trim();
        if (sawBackslash) s = s.replace(/\\(.)/gs, "$1");
        // An escaped "N\ULL" is the string, only the bare word is SQL NULL.
        out.push(!sawBackslash && s.length === 4 && s.toUpperCase() === "NULL" ? null : s);
      }
      skipSpace();
      const next = text[i];
      if (next === delimiter) {
        i++;
        continue;
      }
      if (next === "}") {
        i++;
        return out;
      }
      fail("expected delimiter or '}'");
    }
  };

  skipSpace();
  if (text[i] !== "{") fail("expected '{'");
  const result = parseLevel();
  skipSpace();
  if (i !== text.length) fail("trailing characters");
  return result;
}

/** Depth-first flattening of a multi-dimensional array, order preserved. */
export function flattenPgArray(items: readonly PgArrayItem[]): (string | null)[] {
  const out: (string | null)[] = [];
  const walk = (xs: readonly PgArrayItem[]) => {
    for (const x of xs) {
      if (Array.isArray(x)) walk(x);
      else out.push(x);
    }
  };
  walk(items);
  return out;
}

function preview(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}
