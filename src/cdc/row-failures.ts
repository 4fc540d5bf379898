import { MAX_SAMPLE_KEYS } from "../db/repositories/cdc-checkpoint.js";
import type { RowEvent, TextTuple } from "./events.js";
import type { Rejection } from "./writer.js";

/** Sample keys kept per error kind (the count says how many rows there were); the checkpoint caps at it too. */
export { MAX_SAMPLE_KEYS };
/** Distinct error kinds per job and flush; further ones share one "other" letter. */
export const MAX_KINDS_PER_JOB = 10;
const OTHER_KIND = "other errors of rows without a document id";

/**
 * Row changes of one flush that could not become documents, bounded:
 * - a failure that names its document id stays one dead letter per id (the
 *   open letter of that id is updated, as for a rejected document);
 * - a failure without an id (NULL id column, a delete whose identity lacks it)
 *   is folded into ONE dead letter per job and error kind, with a count and
 *   up to MAX_SAMPLE_KEYS sample keys (the row's replica-identity values), not
 *   one letter per row (unbounded) and not one for every kind at once.
 * Each failure counts toward the applier's flush bound (`size`), so a flood of
 * bad rows is written out like a flood of good ones.
 */
export class RowFailures {
  #keyed: Rejection[] = [];
  readonly #unkeyed = new Map<string, Rejection & { count: number; sampleKeys: string[] }>();
  readonly #kinds = new Map<string, number>();
  #size = 0;

  /** Failures held (each counts one toward the flush bound). */
  get size(): number {
    return this.#size;
  }

  /** Adds one failure; true when it is the first of its kind in this batch (log it once). */
  add(failure: Rejection, ev: RowEvent): boolean {
    this.#size++;
    if (failure.docId !== "") {
      this.#keyed.push(failure);
      return true;
    }
    const kinds = this.#kinds.get(failure.jobId) ?? 0;
    let error = failure.error;
    if (!this.#unkeyed.has(kindKey(failure.jobId, error)) && kinds >= MAX_KINDS_PER_JOB) {
      error = OTHER_KIND;
    }
    const k = kindKey(failure.jobId, error);
    const agg = this.#unkeyed.get(k);
    const sample = sampleKey(ev);
    if (agg) {
      agg.count++;
      if (agg.sampleKeys.length < MAX_SAMPLE_KEYS) agg.sampleKeys.push(sample);
      return false;
    }
    this.#kinds.set(failure.jobId, kinds + 1);
    this.#unkeyed.set(k, { ...failure, error, count: 1, sampleKeys: [sample] });
    return true;
  }

  /** Everything held, as dead letters (aggregates carry `count` and `sampleKeys`); then empty. */
  take(): Rejection[] {
    const out = [...this.#keyed, ...this.#unkeyed.values()];
    this.clear();
    return out;
  }

  /** Drops the failures of one job (it was truncated or parked). */
  dropJob(jobId: string): void {
    const before = this.#keyed.length;
    this.#keyed = this.#keyed.filter((r) => r.jobId !== jobId);
    this.#size -= before - this.#keyed.length;
    for (const [k, r] of this.#unkeyed) {
      if (r.jobId !== jobId) continue;
      this.#size -= r.count;
      this.#unkeyed.delete(k);
    }
    this.#kinds.delete(jobId);
  }

  clear(): void {
    this.#keyed = [];
    this.#unkeyed.clear();
    this.#kinds.clear();
    this.#size = 0;
  }
}

function kindKey(jobId: string, error: string): string {
  return `${jobId}\u0000${error}`;
}

/** `col=value,...` of the row's replica-identity columns, or of the whole row when unknown. */
function sampleKey(ev: RowEvent): string {
  const tuple: TextTuple | null = ev.kind === "delete" ? (ev.key ?? ev.old) : ev.new;
  if (!tuple) return "(no key)";
  const cols = ev.relation.keyColumns.length > 0 ? ev.relation.keyColumns : Object.keys(tuple);
  const parts = cols.slice(0, 4).map((c) => `${c}=${tuple[c] ?? "NULL"}`);
  return parts.join(",").slice(0, 200);
}
