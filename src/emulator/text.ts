/**
 * Tokenization and edit distance, shared by indexing, search, filters and highlights.
 *
 * Typesense's default tokenizer lowercases, splits on whitespace (plus the collection's
 * `token_separators`) and drops every other non-alphanumeric character unless it is listed in
 * `symbols_to_index` ("e-mail" -> "email", "don't" -> "dont"). Accented letters are folded
 * ("é" -> "e"). Tokens are truncated at 100 characters.
 */

export const MAX_TOKEN_LENGTH = 100;

/** Per-collection tokenizer settings. */
export interface TokenizerOptions {
  /** Extra characters that end a token, besides whitespace. */
  separators: ReadonlySet<number>;
  /** Characters kept inside tokens instead of being dropped. */
  symbols: ReadonlySet<number>;
}

export const DEFAULT_TOKENIZER: TokenizerOptions = { separators: new Set(), symbols: new Set() };

/** A token plus where it came from in the original text (for highlights). */
export interface TokenSpan {
  token: string;
  start: number;
  end: number;
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const COMBINING = /\p{M}/gu;

function isAsciiAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

const UNICODE_SPACE = /\s/;

function isSpace(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return UNICODE_SPACE.test(String.fromCharCode(c));
}

function foldChar(ch: string): string {
  return ch.normalize("NFD").replace(COMBINING, "").toLowerCase();
}

/**
 * Splits `text` into normalized tokens with their source offsets. The ASCII path is a plain
 * char-code loop (the indexing hot path); other characters are folded one at a time.
 */
export function tokenizeSpans(
  text: string,
  opts: TokenizerOptions = DEFAULT_TOKENIZER,
): TokenSpan[] {
  const out: TokenSpan[] = [];
  let cur = "";
  let start = -1;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c) || opts.separators.has(c)) {
      if (cur.length > 0) out.push({ token: cut(cur), start, end: i });
      cur = "";
      start = -1;
      continue;
    }
    if (c < 128) {
      if (isAsciiAlnum(c)) {
        if (start < 0) start = i;
        cur += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : text[i];
      } else if (opts.symbols.has(c)) {
        if (start < 0) start = i;
        cur += text[i];
      }
      continue;
    }
    // Non-ASCII: take the whole code point (surrogate pairs included).
    const cp = text.codePointAt(i) ?? c;
    const ch = String.fromCodePoint(cp);
    const width = ch.length;
    if (opts.symbols.has(cp) || LETTER_OR_DIGIT.test(ch)) {
      if (start < 0) start = i;
      cur += opts.symbols.has(cp) ? ch : foldChar(ch);
    }
    i += width - 1;
  }
  if (cur.length > 0) out.push({ token: cut(cur), start, end: n });
  return out;
}

function cut(token: string): string {
  return token.length > MAX_TOKEN_LENGTH ? token.slice(0, MAX_TOKEN_LENGTH) : token;
}

/**
 * Normalized tokens of `text`, in order, duplicates kept. Same tokens as tokenizeSpans, but
 * built for the indexing hot path: one char-code scan, and a word of plain ASCII letters and
 * digits becomes a single slice (lowercased only if it has capitals). Words with punctuation
 * or non-ASCII characters go through tokenizeSpans.
 */
export function tokenize(text: string, opts: TokenizerOptions = DEFAULT_TOKENIZER): string[] {
  const out: string[] = [];
  const n = text.length;
  const seps = opts.separators.size > 0 ? opts.separators : undefined;
  let start = -1;
  let plain = true;
  let upper = false;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 32;
    const boundary = c === 32 || (c >= 9 && c <= 13) || (c >= 128 && isSpace(c)) || seps?.has(c);
    if (boundary) {
      if (start >= 0) {
        if (plain) {
          const end = i - start > MAX_TOKEN_LENGTH ? start + MAX_TOKEN_LENGTH : i;
          const w = text.slice(start, end);
          out.push(upper ? w.toLowerCase() : w);
        } else {
          for (const span of tokenizeSpans(text.slice(start, i), opts)) out.push(span.token);
        }
        start = -1;
        plain = true;
        upper = false;
      }
      continue;
    }
    if (start < 0) start = i;
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) continue;
    if (c >= 65 && c <= 90) upper = true;
    else plain = false;
  }
  return out;
}

/**
 * Optimal-string-alignment distance between `a` and `b`, or `max + 1` as soon as it is known
 * to exceed `max` (the caller only cares about distances up to num_typos, at most 2).
 */
export function boundedDistance(a: string, b: string, max: number): number {
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > max) return max + 1;
  if (la === 0) return lb;
  if (lb === 0) return la;
  let prev2 = new Array<number>(lb + 1).fill(0);
  let prev = new Array<number>(lb + 1);
  let cur = new Array<number>(lb + 1);
  for (let j = 0; j <= lb; j++) prev[j] = j;
  for (let i = 1; i <= la; i++) {
    cur[0] = i;
    let rowMin = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= lb; j++) {
      const cb = b.charCodeAt(j - 1);
      const cost = ca === cb ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) {
        v = Math.min(v, prev2[j - 2]! + 1);
      }
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    const t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return Math.min(prev[lb]!, max + 1);
}

/**
 * Typos allowed for a query token of this length, following Typesense's defaults
 * (min_len_1typo = 4, min_len_2typo = 7) capped by `numTypos`.
 */
export function typoBudget(token: string, numTypos: number): number {
  if (token.length < 4) return 0;
  if (token.length < 7) return Math.min(1, numTypos);
  return Math.min(2, numTypos);
}
