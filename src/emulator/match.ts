import type { Collection } from "./collection.js";
import type { MatchedWords } from "./highlight.js";
import { boundedDistance, typoBudget } from "./text.js";
import type { TextIndex } from "./text-index.js";

/** Query tokens beyond this are ignored (bit masks are 32 bits wide). */
const MAX_QUERY_TOKENS = 32;

export interface MatchOptions {
  /** Normalized query tokens. */
  tokens: string[];
  /** query_by fields, in priority order. */
  fields: string[];
  /** Whether the last token matches as a prefix. */
  prefix: boolean;
  numTypos: number;
  /** Docs allowed by filter_by (1 = allowed), or undefined for all. */
  allowed: Uint8Array | undefined;
}

/** Text-match outcome: matching seqs with per-doc scores and the words to highlight. */
export interface MatchResult {
  seqs: number[];
  /** By seq: the text_match score (only meaningful for seqs in `seqs`). */
  score: Float64Array;
  tokensMatched: Uint8Array;
  typos: Uint8Array;
  bestField: Uint8Array;
  fieldsMatched: Uint8Array;
  numTokensDropped: number;
  /** Per query_by field: matched index words -> marked prefix length (0 = whole). */
  words: MatchedWords[];
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * Matches query tokens against the inverted indexes of the query_by fields, Typesense style:
 *  1. every token exact (the last also as a prefix); if at least one doc has all tokens, stop;
 *  2. otherwise allow typos (per-token budget from its length and num_typos);
 *  3. otherwise drop tokens from the right until something matches.
 * A token's cost for a doc is its cheapest match over all fields (costs are applied in
 * increasing order, so the first time a doc gets a token bit is at its minimum cost).
 */
export function matchQuery(coll: Collection, opts: MatchOptions): MatchResult {
  const tokens = opts.tokens.slice(0, MAX_QUERY_TOKENS);
  const n = coll.bySeq.length;
  const mask = new Uint32Array(n);
  const exactMask = new Uint32Array(n);
  const fieldMask = new Uint32Array(n);
  const typos = new Uint8Array(n);
  const bestField = new Uint8Array(n).fill(255);
  const touched: number[] = [];
  const indexes = opts.fields.map((f) => coll.textIndexes.get(f));
  const words: MatchedWords[] = opts.fields.map(() => new Map());
  const allowed = opts.allowed;
  const bySeq = coll.bySeq;
  const last = tokens.length - 1;

  const apply = (ti: number, fi: number, word: string, cost: number, markLen: number) => {
    const postings = indexes[fi]!.postings.get(word);
    if (!postings) return;
    const prev = words[fi]!.get(word);
    if (prev === undefined || (markLen === 0 && prev !== 0)) words[fi]!.set(word, markLen);
    const bit = 1 << ti;
    const exact = word === tokens[ti];
    for (let i = 0; i < postings.length; i++) {
      const seq = postings[i]!;
      // Dead seqs (deleted docs) linger in postings until renumbering; the filter bitmap only
      // holds live docs, otherwise check liveness.
      if (allowed !== undefined ? allowed[seq] !== 1 : bySeq[seq] === undefined) continue;
      const m = mask[seq]!;
      if (m === 0 && fieldMask[seq] === 0) touched.push(seq);
      if ((m & bit) === 0) {
        mask[seq] = m | bit;
        typos[seq] = typos[seq]! + cost;
      }
      if (exact) exactMask[seq] = exactMask[seq]! | bit;
      fieldMask[seq] = fieldMask[seq]! | (1 << fi);
      if (fi < bestField[seq]!) bestField[seq] = fi;
    }
  };

  const full = tokens.length >= 32 ? 0xffffffff : (1 << tokens.length) - 1;
  const countWith = (need: number): number => {
    let c = 0;
    for (const seq of touched) if ((mask[seq]! & need) >>> 0 === need >>> 0) c++;
    return c;
  };

  for (let ti = 0; ti < tokens.length; ti++) {
    const t = tokens[ti]!;
    const isPrefix = opts.prefix && ti === last;
    for (let fi = 0; fi < indexes.length; fi++) {
      const idx = indexes[fi];
      if (!idx) continue;
      apply(ti, fi, t, 0, 0);
      if (isPrefix) for (const w of idx.withPrefix(t)) if (w !== t) apply(ti, fi, w, 0, t.length);
    }
  }

  if (tokens.length > 0 && countWith(full) === 0 && opts.numTypos > 0) {
    for (let ti = 0; ti < tokens.length; ti++) {
      const t = tokens[ti]!;
      const budget = typoBudget(t, opts.numTypos);
      if (budget === 0) continue;
      const isPrefix = opts.prefix && ti === last;
      const found: { fi: number; word: string; cost: number; markLen: number }[] = [];
      for (let fi = 0; fi < indexes.length; fi++) {
        const idx: TextIndex | undefined = indexes[fi];
        if (!idx) continue;
        for (const w of idx.postings.keys()) {
          let d = boundedDistance(t, w, budget);
          let markLen = 0;
          if (isPrefix && w.length > t.length) {
            const dp = boundedDistance(t, w.slice(0, t.length), budget);
            if (dp < d) {
              d = dp;
              markLen = t.length;
            }
          }
          if (d > 0 && d <= budget) found.push({ fi, word: w, cost: d, markLen });
        }
      }
      found.sort((a, b) => a.cost - b.cost);
      for (const f of found) apply(ti, f.fi, f.word, f.cost, f.markLen);
    }
  }

  let need = full;
  let dropped = 0;
  while (need !== 0 && countWith(need) === 0 && dropped < tokens.length - 1) {
    dropped++;
    need = (1 << (tokens.length - dropped)) - 1;
  }
  const seqs: number[] = [];
  const score = new Float64Array(n);
  const tokensMatched = new Uint8Array(n);
  const fieldsMatched = new Uint8Array(n);
  if (tokens.length === 0) {
    return {
      seqs,
      score,
      tokensMatched,
      typos,
      bestField,
      fieldsMatched,
      numTokensDropped: 0,
      words,
    };
  }
  for (const seq of touched) {
    const m = mask[seq]!;
    if ((m & need) >>> 0 !== need >>> 0) continue;
    seqs.push(seq);
    const tm = popcount(m);
    const fm = popcount(fieldMask[seq]!);
    tokensMatched[seq] = tm;
    fieldsMatched[seq] = fm;
    // Ordered components: tokens matched > fewer typos > better field > more exact tokens >
    // more fields matched. Stays below 2^53 so it is exact in a double.
    score[seq] =
      tm * 1e14 +
      (99 - Math.min(typos[seq]!, 99)) * 1e12 +
      (99 - Math.min(bestField[seq]!, 99)) * 1e10 +
      popcount(exactMask[seq]!) * 1e8 +
      fm * 1e6;
  }
  return {
    seqs,
    score,
    tokensMatched,
    typos,
    bestField,
    fieldsMatched,
    numTokensDropped: dropped,
    words,
  };
}
