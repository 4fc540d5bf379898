import { ServiceError } from "../errors/service-error.js";

/**
 * Parser for Postgres array text literals as produced by array_out (which is
 * what pgoutput sends and what `textin(array_out(col))` returns), e.g.
 * `{1,NULL,"a \"q\", b",{2,3}}` or `[0:1]={a,b}`.
 *
 * Quoted elements are always strings; an unquoted `NULL` (any case) is null.
 * Nested levels become nested JS arrays; callers flatten when they want to.
 *
 * Hot path of every array column (full sync and CDC): the parser is a plain
 * object with prototype methods and char-code comparisons, so a call allocates
 * no closures and runs no regex unless an unquoted element holds a backslash.
 */
export type PgArrayItem = string | null | PgArrayItem[];

export class PgArrayParseError extends ServiceError {
  override readonly name = "PgArrayParseError";
  constructor(message: string) {
    super("PG_ARRAY_INVALID", message);
  }
}

export function parsePgArray(text: string, delimiter = ","): PgArrayItem[] {
  const p = new ArrayTextParser(text, delimiter, null);
  return p.parse();
}

/**
 * parsePgArray + flattenPgArray in one pass (what the document mapper needs):
 * elements in row-major order, nested levels flattened. Same errors.
 */
export function parsePgArrayFlat(text: string, delimiter = ","): (string | null)[] {
  const flat: (string | null)[] = [];
  new ArrayTextParser(text, delimiter, flat).parse();
  return flat;
}

/** Depth-first flattening of a multi-dimensional array, order preserved. */
export function flattenPgArray(items: readonly PgArrayItem[]): (string | null)[] {
  const out: (string | null)[] = [];
  flattenInto(items, out);
  return out;
}

function flattenInto(xs: readonly PgArrayItem[], out: (string | null)[]): void {
  for (const x of xs) {
    if (Array.isArray(x)) flattenInto(x, out);
    else out.push(x);
  }
}

const SPACE = 32;
const TAB = 9;
const LF = 10;
const VT = 11;
const FF = 12;
const CR = 13;
const QUOTE = 34;
const BACKSLASH = 92;
const OPEN = 123; // {
const CLOSE = 125; // }
const BRACKET = 91; // [

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR || c === VT || c === FF;
}

class ArrayTextParser {
  private i = 0;
  private readonly delim: number;

  /** `flat`: push every element there (row-major) instead of building nested arrays. */
  constructor(
    private readonly text: string,
    delimiter: string,
    private readonly flat: (string | null)[] | null,
  ) {
    this.delim = delimiter.charCodeAt(0);
  }

  parse(): PgArrayItem[] {
    const text = this.text;
    // Optional dimension decoration for non-default lower bounds: "[1:3][0:1]={...}".
    if (text.charCodeAt(0) === BRACKET) {
      const eq = text.indexOf("=");
      if (eq < 0) throw new PgArrayParseError(`malformed array literal: ${preview(text)}`);
      this.i = eq + 1;
    }
    this.skipSpace();
    if (text.charCodeAt(this.i) !== OPEN) this.fail("expected '{'");
    const result = this.level();
    this.skipSpace();
    if (this.i !== text.length) this.fail("trailing characters");
    return result;
  }

  private fail(what: string): never {
    throw new PgArrayParseError(
      `malformed array literal (${what} at ${this.i}): ${preview(this.text)}`,
    );
  }

  private skipSpace(): void {
    const text = this.text;
    while (isSpace(text.charCodeAt(this.i))) this.i++;
  }

  /** precondition: text[i] === "{". Returns the level's items ([] in flat mode). */
  private level(): PgArrayItem[] {
    const text = this.text;
    const flat = this.flat;
    const out: PgArrayItem[] = [];
    this.i++;
    this.skipSpace();
    if (text.charCodeAt(this.i) === CLOSE) {
      this.i++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.i >= text.length) this.fail("unterminated array");
      const c = text.charCodeAt(this.i);
      if (c === OPEN) {
        const sub = this.level();
        if (flat === null) out.push(sub);
      } else {
        const item = c === QUOTE ? this.quoted() : this.unquoted();
        if (flat === null) out.push(item);
        else flat.push(item);
      }
      this.skipSpace();
      const next = text.charCodeAt(this.i);
      if (next === this.delim) {
        this.i++;
        continue;
      }
      if (next === CLOSE) {
        this.i++;
        return out;
      }
      this.fail("expected delimiter or '}'");
    }
  }

  private quoted(): string {
    // Copy runs between escapes with slice: elements can be megabytes long.
    const text = this.text;
    this.i++;
    let s = "";
    for (;;) {
      const q = text.indexOf('"', this.i);
      if (q < 0) this.fail("unterminated quoted element");
      const b = text.indexOf("\\", this.i);
      if (b >= 0 && b < q) {
        if (b + 1 >= text.length) this.fail("dangling backslash");
        s += text.slice(this.i, b) + text[b + 1];
        this.i = b + 2;
        continue;
      }
      s += text.slice(this.i, q);
      this.i = q + 1;
      return s;
    }
  }

  private unquoted(): string | null {
    // Up to the next delimiter or '}'. array_out never escapes inside unquoted
    // elements, but array_in accepts it, so honour it.
    const text = this.text;
    const delim = this.delim;
    const start = this.i;
    let sawBackslash = false;
    for (;;) {
      if (this.i >= text.length) this.fail("unterminated array");
      const ch = text.charCodeAt(this.i);
      if (ch === delim || ch === CLOSE) break;
      if (ch === BACKSLASH) {
        sawBackslash = true;
        this.i++;
      }
      this.i++;
    }
    let s = text.slice(start, this.i).trim();
    if (sawBackslash) s = s.replace(/\\(.)/gs, "$1");
    // An escaped "N\ULL" is the string, only the bare word is SQL NULL.
    return !sawBackslash && s.length === 4 && s.toUpperCase() === "NULL" ? null : s;
  }
}

function preview(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}
