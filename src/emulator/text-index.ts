import { MAX_TOKEN_LENGTH, type TokenizerOptions, tokenizeSpans } from "./text.js";

/**
 * Inverted index of one string/string[] field: token -> ascending array of doc seq ids.
 *
 * Invariants:
 *  - each posting array is sorted ascending and holds a seq at most once;
 *  - for a LIVE doc, seq is in postings(t) iff the doc's current value has token t;
 *  - deleted docs are removed lazily: their seqs may linger (a seq is not reused until the
 *    owner renumbers and rebuilds the index, so readers skip seqs whose doc is gone);
 *  - `postings` (the view readers use) holds exactly the tokens with a non-empty array, and
 *    shares the array objects with the hash table below.
 *
 * New docs always have the highest seq, so indexing them is an append. `addText` is the hot
 * path: it hashes each word while scanning the text and probes an open-addressing table, so a
 * known token costs no string allocation and no Map lookup. Updates (upsert keeps the seq)
 * touch only the tokens that changed. The sorted vocabulary for prefix lookups is rebuilt
 * lazily, only after the set of tokens changed.
 */
export class TextIndex {
  readonly postings = new Map<string, number[]>();
  #sorted: string[] | undefined;
  #tokens: string[] = [];
  #lists: number[][] = [];
  #hashes: number[] = [];
  #table = new Int32Array(1024);
  #mask = 1023;

  /** Indexes `text` for a new doc whose seq is higher than any seq in the index. */
  addText(seq: number, text: string, opts: TokenizerOptions): void {
    const n = text.length;
    const seps = opts.separators.size > 0 ? opts.separators : undefined;
    let start = -1;
    let plain = true;
    let h = 0;
    let len = 0;
    for (let i = 0; i <= n; i++) {
      const c = i < n ? text.charCodeAt(i) : 32;
      // Common case first: a lowercase letter or digit continues (or starts) a plain word.
      let lc = -1;
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) lc = c;
      else if (c >= 65 && c <= 90) lc = c + 32;
      if (lc >= 0 && (seps === undefined || !seps.has(c))) {
        if (start < 0) {
          start = i;
          plain = true;
          h = 0x811c9dc5 | 0;
          len = 0;
        }
        if (plain && len < MAX_TOKEN_LENGTH) {
          h = Math.imul(h ^ lc, 16777619);
          len++;
        }
        continue;
      }
      const boundary =
        c === 32 ||
        (c >= 9 && c <= 13) ||
        seps?.has(c) ||
        (c >= 128 && /\s/.test(String.fromCharCode(c)));
      if (!boundary) {
        // Punctuation or non-ASCII inside a word: that word takes the slow path.
        if (start < 0) start = i;
        plain = false;
        continue;
      }
      if (start >= 0) {
        if (plain) this.#push(this.#entryForSpan(text, start, start + len, h), seq);
        else {
          for (const s of tokenizeSpans(text.slice(start, i), opts))
            this.#push(this.#entry(s.token), seq);
        }
        start = -1;
      }
    }
  }

  /** Indexes tokens of a new doc whose seq is higher than any seq in the index. */
  add(seq: number, tokens: readonly string[]): void {
    for (let i = 0; i < tokens.length; i++) this.#push(this.#entry(tokens[i]!), seq);
  }

  #push(e: number, seq: number): void {
    const list = this.#lists[e]!;
    const last = list.length - 1;
    if (last >= 0 && list[last] === seq) return;
    if (last < 0) this.#show(e);
    list.push(seq);
  }

  /** Makes a token visible to readers (its array is about to become non-empty). */
  #show(e: number): void {
    this.postings.set(this.#tokens[e]!, this.#lists[e]!);
    this.#sorted = undefined;
  }

  /** Entry for text[start, end) lowercased (plain ASCII alphanumerics), created if absent. */
  #entryForSpan(text: string, start: number, end: number, h: number): number {
    const len = end - start;
    let slot = h & this.#mask;
    for (;;) {
      const v = this.#table[slot]!;
      if (v === 0) break;
      const e = v - 1;
      if (this.#hashes[e] === h) {
        const t = this.#tokens[e]!;
        if (t.length === len) {
          let same = true;
          for (let k = 0; k < len; k++) {
            let c = text.charCodeAt(start + k);
            if (c >= 65 && c <= 90) c += 32;
            if (t.charCodeAt(k) !== c) {
              same = false;
              break;
            }
          }
          if (same) return e;
        }
      }
      slot = (slot + 1) & this.#mask;
    }
    return this.#insert(text.slice(start, end).toLowerCase(), h, slot);
  }

  /** Entry for a normalized token string, created if absent. */
  #entry(token: string): number {
    let h = 0x811c9dc5 | 0;
    for (let k = 0; k < token.length; k++) h = Math.imul(h ^ token.charCodeAt(k), 16777619);
    let slot = h & this.#mask;
    for (;;) {
      const v = this.#table[slot]!;
      if (v === 0) break;
      const e = v - 1;
      if (this.#hashes[e] === h && this.#tokens[e] === token) return e;
      slot = (slot + 1) & this.#mask;
    }
    return this.#insert(token, h, slot);
  }

  #insert(token: string, h: number, slot: number): number {
    const e = this.#tokens.length;
    this.#tokens.push(token);
    this.#lists.push([]);
    this.#hashes.push(h);
    this.#table[slot] = e + 1;
    if (this.#tokens.length * 2 > this.#table.length) this.#rehash(this.#table.length * 2);
    return e;
  }

  #rehash(size: number): void {
    this.#table = new Int32Array(size);
    this.#mask = size - 1;
    for (let e = 0; e < this.#hashes.length; e++) {
      let slot = this.#hashes[e]! & this.#mask;
      while (this.#table[slot] !== 0) slot = (slot + 1) & this.#mask;
      this.#table[slot] = e + 1;
    }
  }

  /** Re-indexes a live doc whose tokens changed from `before` to `after`. */
  update(seq: number, before: readonly string[], after: readonly string[]): void {
    const old = new Set(before);
    const now = new Set(after);
    for (const t of old) if (!now.has(t)) this.#removeOne(t, seq);
    for (const t of now) if (!old.has(t)) this.#insertOne(t, seq);
  }

  #insertOne(t: string, seq: number): void {
    const e = this.#entry(t);
    const list = this.#lists[e]!;
    const i = lowerBound(list, seq);
    if (list[i] === seq) return;
    if (list.length === 0) this.#show(e);
    list.splice(i, 0, seq);
  }

  #removeOne(t: string, seq: number): void {
    const list = this.postings.get(t);
    if (list === undefined) return;
    const i = lowerBound(list, seq);
    if (list[i] !== seq) return;
    list.splice(i, 1);
    if (list.length === 0) {
      this.postings.delete(t);
      this.#sorted = undefined;
    }
  }

  clear(): void {
    this.postings.clear();
    this.#sorted = undefined;
    this.#tokens = [];
    this.#lists = [];
    this.#hashes = [];
    this.#table = new Int32Array(1024);
    this.#mask = 1023;
  }

  /** All tokens, sorted (cached until the vocabulary changes). */
  vocabulary(): string[] {
    if (this.#sorted === undefined) this.#sorted = [...this.postings.keys()].sort();
    return this.#sorted;
  }

  /** Tokens starting with `prefix` (including `prefix` itself), via binary search. */
  withPrefix(prefix: string): string[] {
    const vocab = this.vocabulary();
    let lo = 0;
    let hi = vocab.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (vocab[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < vocab.length && vocab[i]!.startsWith(prefix); i++) out.push(vocab[i]!);
    return out;
  }
}

function lowerBound(list: readonly number[], v: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
