import { type TokenizerOptions, tokenizeSpans } from "./text.js";

/**
 * Words of one field that matched the query: word -> length of the marked prefix (0 = mark the
 * whole token; a prefix match marks only the typed part, as Typesense does).
 */
export type MatchedWords = Map<string, number>;

/** Highlight of one string value. */
export interface ValueHighlight {
  snippet: string;
  matched_tokens: string[];
  value?: string;
}

export interface HighlightOptions {
  tokenizer: TokenizerOptions;
  /** Values with at most this many tokens are highlighted whole. */
  snippetThreshold: number;
  /** Tokens kept on each side of the matched region in a snippet. */
  affixTokens: number;
  /** Also return the fully highlighted value. */
  full: boolean;
  /** highlight_start_tag / highlight_end_tag (Typesense defaults: <mark>, </mark>). */
  startTag: string;
  endTag: string;
}

/** Highlights one string; undefined when nothing in it matched. */
export function highlightValue(
  text: string,
  words: MatchedWords,
  opts: HighlightOptions,
): ValueHighlight | undefined {
  const spans = tokenizeSpans(text, opts.tokenizer);
  const hits: { i: number; markLen: number }[] = [];
  for (let i = 0; i < spans.length; i++) {
    const m = words.get(spans[i]!.token);
    if (m !== undefined) hits.push({ i, markLen: m });
  }
  if (hits.length === 0) return undefined;
  const matched: string[] = [];
  /** Text of tokens `from..to` (or the whole value) with the matches wrapped in the tags. */
  const marked = (from: number, to: number, whole: boolean): string => {
    let cursor = whole ? 0 : spans[from]!.start;
    const endChar = whole ? text.length : spans[to]!.end;
    let out = "";
    for (const h of hits) {
      if (h.i < from || h.i > to) continue;
      const s = spans[h.i]!;
      const markEnd = h.markLen > 0 ? Math.min(s.end, s.start + h.markLen) : s.end;
      out += `${text.slice(cursor, s.start)}${opts.startTag}${text.slice(s.start, markEnd)}${opts.endTag}`;
      cursor = markEnd;
    }
    return out + text.slice(cursor, endChar);
  };
  for (const h of hits) {
    const s = spans[h.i]!;
    matched.push(text.slice(s.start, h.markLen > 0 ? Math.min(s.end, s.start + h.markLen) : s.end));
  }
  let snippet: string;
  if (spans.length <= opts.snippetThreshold) {
    snippet = marked(0, spans.length - 1, true);
  } else {
    const first = Math.max(0, hits[0]!.i - opts.affixTokens);
    const last = Math.min(spans.length - 1, hits[0]!.i + opts.affixTokens);
    snippet = marked(first, last, false);
  }
  const out: ValueHighlight = { matched_tokens: matched, snippet };
  if (opts.full) out.value = marked(0, spans.length - 1, true);
  return out;
}
