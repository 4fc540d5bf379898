/**
 * Inverted index of one string/string[] field: token -> ascending array of doc seq ids.
 *
 * Invariants:
 *  - each posting array is sorted ascending and holds a seq at most once;
 *  - for a LIVE doc, seq is in postings(t) iff the doc's current value has token t;
 *  - deleted docs are removed lazily: their seqs may linger (seqs are never reused, so readers
 *    skip seqs whose doc is gone) until the owner calls `compact` or rebuilds the index.
 * New docs always have the highest seq, so indexing them is an append. Updates (upsert keeps
 * the seq) touch only the tokens that changed. The sorted vocabulary for prefix lookups is
 * rebuilt lazily, only after the set of tokens changed.
 */
export class TextIndex {
  readonly postings = new Map<string, number[]>();
  #sorted: string[] | undefined;

  /** Indexes a new doc whose seq is higher than any seq in the index. */
  add(seq: number, tokens: readonly string[]): void {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      const list = this.postings.get(t);
      if (list === undefined) {
        this.postings.set(t, [seq]);
        this.#sorted = undefined;
      } else if (list[list.length - 1] !== seq) {
        list.push(seq);
      }
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
    const list = this.postings.get(t);
    if (list === undefined) {
      this.postings.set(t, [seq]);
      this.#sorted = undefined;
      return;
    }
    const i = lowerBound(list, seq);
    if (list[i] !== seq) list.splice(i, 0, seq);
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

  /** Drops seqs of deleted docs (`isLive(seq)` false) and tokens left without postings. */
  compact(isLive: (seq: number) => boolean): void {
    for (const [t, list] of this.postings) {
      const kept = list.filter(isLive);
      if (kept.length === 0) {
        this.postings.delete(t);
        this.#sorted = undefined;
      } else if (kept.length !== list.length) {
        this.postings.set(t, kept);
      }
    }
  }

  clear(): void {
    this.postings.clear();
    this.#sorted = undefined;
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
