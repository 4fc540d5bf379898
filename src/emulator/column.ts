/**
 * A numeric column: the value of one scalar int32/int64/float/bool field for every seq, NaN
 * when the doc is missing or lacks the field. Filters and sorts read it instead of doing a
 * dynamic property lookup per document (the dominant cost of a scan over 100k docs).
 */
export class NumColumn {
  #data = new Float64Array(1024).fill(Number.NaN);

  get(seq: number): number {
    return seq < this.#data.length ? this.#data[seq]! : Number.NaN;
  }

  set(seq: number, value: unknown): void {
    if (seq >= this.#data.length) {
      let size = this.#data.length * 2;
      while (size <= seq) size *= 2;
      const next = new Float64Array(size).fill(Number.NaN);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[seq] =
      typeof value === "number"
        ? value
        : typeof value === "boolean"
          ? value
            ? 1
            : 0
          : // an int64 beyond 2^53 is stored exactly in the document; sorting and
            // range filters use its nearest double, as precise as a Float64Array can be
            typeof value === "bigint"
            ? Number(value)
            : Number.NaN;
  }

  /** The backing array (length >= highest seq + 1); entries past the last seq are NaN. */
  get raw(): Float64Array {
    return this.#data;
  }
}
