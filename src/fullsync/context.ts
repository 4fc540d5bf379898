import type pg from "pg";
import type { Logger } from "../lifecycle/index.js";
import type { CollectionSchema, Document } from "../typesense/types.js";
import type { Lease } from "./lease.js";
import type { JobRow, RunCounters } from "./runs.js";
import type { WindowReader } from "./window-reader.js";

/** One line of an import response. */
export type ImportLineResult =
  | { ok: true; id?: string }
  | { ok: false; code: number; error: string; id?: string };

/**
 * What a run needs from a Typesense backend (a subset of typesense/'s
 * TypesenseBackend, so tests and the CDC applier can pass the real one).
 */
export interface SyncBackend {
  importDocuments(
    collection: string,
    docs: readonly Document[],
    options: { action: "upsert" | "emplace" | "create" | "update" },
  ): Promise<ImportLineResult[]>;
  /** Existing docs among `ids` (missing ids are absent from the map). */
  getDocuments(collection: string, ids: readonly string[]): Promise<Map<string, Document>>;
  /** Deletes by id; a missing id is not an error. */
  deleteDocuments(collection: string, ids: readonly string[]): Promise<unknown>;
  /** Every document id of the collection, streamed (orphan sweep). */
  exportIds(collection: string): AsyncIterable<string>;
  /** Creates the collection or adds missing fields; reports fields whose type differs. */
  ensureCollection(schema: CollectionSchema): Promise<EnsureOutcome>;
}

export interface EnsureOutcome {
  created: boolean;
  addedFields: string[];
  typeConflicts: { field: string; existing: string; desired: string }[];
}

/** State shared by the stages of one run attempt. */
export interface RunContext {
  control: pg.Pool;
  source: pg.Pool;
  backend: SyncBackend;
  job: JobRow;
  runId: string;
  lease: Lease;
  leaseTtlMs: number;
  reader: WindowReader;
  sagaEnabled: boolean;
  /** Mutated in place; persisted by every checkpoint. */
  counters: RunCounters;
  /** Runs a Typesense call with the import retry policy (counts retries). */
  retry<T>(what: string, fn: () => Promise<T>): Promise<T>;
  log: Logger;
}
