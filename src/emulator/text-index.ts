/**
 * Inverted index of one string/string[] field: token -> set of doc seq ids.
 *
 * Invariant: a seq id is in `postings.get(t)` iff the stored doc with that seq has token `t` in
 * this field. Writers must unindex the old version before indexing the new one (upsert keeps
 * the seq id). The sorted vocabulary for prefix lookups is rebuilt lazily, only after the set
 * of tokens changed, so write-heavy phases pay nothing for it.
 */
export class TextIndex {
  readonly postings = new Map<string, Set<number>>();
  #sorted: string[] | undefined;

  add(seq: number, tokens: readonly string[]): void {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      let set = this.postings.get(t);
      if (set === undefined) {
        set = new Set();
        this.postings.set(t, set);
        this.#sorted = undefined;
      }
      set.add(seq);
    }
  }

  remove(seq: number, tokens: readonly string[]): void {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      const set = this.postings.get(t);
      if (set === undefined) continue;
      set.delete(seq);
      if (set.size === 0) {
        this.postings.delete(t);
        this.#sorted = undefined;
      }
    }
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
