import type { Rejection } from "../db/repositories/cdc-checkpoint.js";
import type { FanoutRequest } from "../db/repositories/cdc-fanouts.js";
import type { DocumentMapper } from "../documents/index.js";
import type { WindowReader } from "../documents/window-reader.js";
import { parseJson, serializeDocument } from "../json/codec.js";
import { backoffDelay, sleepUnlessAborted } from "../lifecycle/backoff.js";
import type { Logger } from "../lifecycle/logger.js";
import {
  CollectionNotOwnedError,
  type CollectionSummary,
  type EnsureOptions,
  type ImportLineResult,
  ownershipOf,
} from "../typesense/index.js";
import type { CollectionSchema, Document } from "../typesense/types.js";
import { type PendingOp, upsertLine } from "./batch.js";
import { errorMessage, JobWriteFailedError } from "./errors.js";
import { ALL_ROOTS, ALL_ROOTS_PATH, type SpecTarget } from "./spec-target.js";

/**
 * What CDC needs of a Typesense backend: a subset of fullsync's SyncBackend
 * (and so of typesense/'s backend), plus an optional fast truncate.
 */
export interface CdcBackend {
  /** `docs` as objects or as JSONL lines (one compact JSON object each, no newline). */
  importDocuments(
    collection: string,
    docs: readonly Document[] | readonly string[],
    options: { action: "upsert" | "emplace" | "create" | "update" },
  ): Promise<ImportLineResult[]>;
  /** Deletes by id; a missing id is not an error. */
  deleteDocuments(collection: string, ids: readonly string[]): Promise<unknown>;
  /** Every document id of the collection (truncate fallback). */
  exportIds(collection: string): AsyncIterable<string>;
  /** null when the collection does not exist (the ownership check reads its metadata). */
  getCollection(name: string): Promise<CollectionSummary | null>;
  ensureCollection?(schema: CollectionSchema, options: EnsureOptions): Promise<unknown>;
  /** Empties the collection in one call, if the backend can. */
  truncate?(collection: string): Promise<unknown>;
}

/** A document Typesense rejected for good; defined beside the checkpoint that records it. */
export type { Rejection };

export interface WriteResult {
  /** Ids whose write Typesense confirmed. */
  written: string[];
  rejected: Rejection[];
  /** A spec job's fan-outs, queued by the flush's checkpoint (fanout-worker.ts renders them). */
  fanouts?: FanoutRequest[];
}

export interface JobTarget {
  jobId: string;
  collection: string;
  backend: CdcBackend;
  mapper: DocumentMapper;
  /** Reads current rows by id from the source (refetch for partial updates). */
  reader: WindowReader;
  /** A job with a document spec: its documents are rendered by the spec's statement (spec-target.ts). */
  spec?: SpecTarget;
  /**
   * The version a rebuild builds (`<collection>__v<N>`): every write of the
   * job goes to `collection` AND here (dual-write, docs/cdc.md). The version
   * is never created by CDC: its rebuild creates it before its build reads a
   * row, and a write to it while it is missing (not created yet, or dropped
   * by a discard) is skipped, never re-creating a collection nobody owns.
   */
  building?: { version: number; collection: string };
  /**
   * true: a missing collection is not created (skipped instead). Set for
   * versioned jobs (an alias that dangles would otherwise become a real
   * collection under the alias's name) and for the building version.
   */
  noCreate?: boolean;
}

/*
 * The two halves of a dual-writing target, made once per target object: the
 * ownership check (mayWrite) caches its answer per target object, so fresh
 * objects per flush would read the collection on every flush.
 */
const halves = new WeakMap<JobTarget, { live: JobTarget; building: JobTarget }>();

function halvesOf(target: JobTarget): { live: JobTarget; building: JobTarget } | null {
  const b = target.building;
  if (!b) return null;
  let h = halves.get(target);
  if (!h || h.building.collection !== b.collection) {
    const { building: _omit, ...live } = target;
    h = { live, building: { ...live, collection: b.collection, noCreate: true } };
    halves.set(target, h);
  }
  return h;
}

/**
 * Replaces the versions part of `target` in place (the stream re-read the
 * job at a watermark: applier.ts); the next write uses them.
 */
export function setVersions(target: JobTarget, v: Pick<JobTarget, "building" | "noCreate">): void {
  halves.delete(target);
  if (v.building) target.building = v.building;
  else delete target.building;
  if (v.noCreate) target.noCreate = true;
  else delete target.noCreate;
}

/**
 * Where the stream writes a watermark window: a window naming its collection
 * (a full sync's) goes to that version alone, the live or the building one; a
 * window of the stream's own (a fan-out page, no collection) is a CDC write
 * and goes to both. null: the window names a collection the job does not
 * write (the caller fails it).
 */
export function windowTarget(target: JobTarget, collection: string | undefined): JobTarget | null {
  if (collection === undefined) return target;
  if (collection === target.collection) return liveTarget(target);
  if (collection === target.building?.collection) return buildingTarget(target);
  return null;
}

/** The target of the job's building version alone (no further dual-write, never created). */
export function buildingTarget(target: JobTarget): JobTarget | null {
  return halvesOf(target)?.building ?? null;
}

/** The target of the job's live collection alone (the rebuild's version left out). */
export function liveTarget(target: JobTarget): JobTarget {
  return halvesOf(target)?.live ?? target;
}

/** The collection schema a job's writes create a missing collection with. */
function schemaOf(target: JobTarget): CollectionSchema {
  return target.spec
    ? target.spec.resolved.collectionSchema(target.collection)
    : target.mapper.collectionSchema(target.collection);
}

export interface WriterOptions {
  log: Logger;
  /** Backoff while Typesense is unavailable. */
  backoff: { baseMs: number; maxMs: number };
  /** Told about every failed attempt (stream status "backoff", last_error) and each recovery. */
  onUnavailable?: (err: Error | null) => void;
  /**
   * A call of one job that has failed for this long (and at least
   * PARK_MIN_ATTEMPTS times) throws JobWriteFailedError instead of retrying on:
   * the applier parks the job. Unset: retried until it succeeds (or aborts).
   */
  parkAfterMs?: number;
  /** A failed call of `jobId` is tried again (metrics: CDC import retries). */
  onRetry?: (jobId: string) => void;
  now?: () => number;
}

/** A call is given up (the job parked) only after this many attempts, whatever the time. */
const PARK_MIN_ATTEMPTS = 3;

/** After a failed call: try again at once, give up on it (nothing to do), or back off. */
export type Recovery = "retry" | "skip" | "backoff";

/**
 * Runs a Typesense call of one job until it succeeds, `signal` aborts, or
 * (with `parkAfterMs`) the job's retry budget is spent. A request that fails
 * as a whole (down, 5xx, timeout, even 401) is never skipped: the stream
 * holds its position (no acknowledgement), reports the error, and retries with
 * backoff; the slot keeps the WAL meanwhile. After the budget it throws
 * JobWriteFailedError, still without acknowledging anything: the applier
 * parks the job durably before the stream moves on (applier.ts). Only single
 * documents rejected inside a 200 import become dead letters. `recover` may
 * turn an error into "retry" (after fixing its cause) or "skip" (the call has
 * nothing to do); skip returns undefined.
 */
export async function untilDone<T>(
  opts: WriterOptions,
  call: { what: string; jobId: string },
  fn: () => Promise<T>,
  signal: AbortSignal,
  recover?: (e: unknown) => Promise<Recovery>,
): Promise<T | undefined> {
  const { what, jobId } = call;
  const now = opts.now ?? Date.now;
  let firstFailedAt = Number.NaN;
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted();
    try {
      const v = await fn();
      if (attempt > 1) opts.onUnavailable?.(null);
      return v;
    } catch (e) {
      signal.throwIfAborted();
      if (Number.isNaN(firstFailedAt)) firstFailedAt = now();
      const next = recover ? await recover(e).catch((): Recovery => "backoff") : "backoff";
      if (next === "skip") return undefined;
      const err = e instanceof Error ? e : new Error(String(e));
      if (
        opts.parkAfterMs !== undefined &&
        attempt >= PARK_MIN_ATTEMPTS &&
        now() - firstFailedAt >= opts.parkAfterMs
      ) {
        throw new JobWriteFailedError(jobId, `${what}: ${errorMessage(err)}`, { cause: err });
      }
      opts.onRetry?.(jobId);
      if (next === "retry" && attempt < 3) continue;
      const delay = backoffDelay(attempt, opts.backoff);
      opts.log.warn(
        { err: { message: errorMessage(err) }, what, attempt, delayMs: delay },
        "Typesense write failed; holding the stream position and retrying",
      );
      opts.onUnavailable?.(err);
      if (!(await sleepUnlessAborted(delay, signal))) signal.throwIfAborted();
    }
  }
}

/** How long a confirmed mark is trusted before it is read again (a full run of another job may adopt it). */
const OWNED_RECHECK_MS = 10_000;
/** Refusals of one job are logged at most this often. */
const REFUSAL_LOG_MS = 60_000;
const ownedAt = new WeakMap<JobTarget, number>();
const refusalLoggedAt = new WeakMap<JobTarget, number>();

/**
 * The CDC side of "never touch a collection the sidecar did not create"
 * (typesense/collection-owner.ts): a job's ops are written only into a
 * collection that carries the job's mark. A missing one is created here with
 * the mark (never adopting: adopting is a full run's step, with the job's
 * adopt_existing_collection). Any other collection gets nothing: its ops are
 * dropped (logged), the stream and the other jobs go on, and the check runs
 * again at the job's next flush. Nothing dropped is lost for good: the run
 * that adopts the collection writes the mark before its windows, and every
 * window re-reads its rows after that.
 */
async function mayWrite(
  opts: WriterOptions,
  target: JobTarget,
  signal: AbortSignal,
): Promise<boolean> {
  const { backend, collection, jobId } = target;
  const at = ownedAt.get(target);
  if (at !== undefined && Date.now() - at < OWNED_RECHECK_MS) return true;
  const summary = await untilDone(
    opts,
    { what: `read collection ${collection}`, jobId },
    () => backend.getCollection(collection),
    signal,
  );
  let own = ownershipOf(summary ?? null, jobId);
  // a version not created yet (or dropped by a discard), or a dangling alias: nothing to write
  if (own.kind === "missing" && target.noCreate) return false;
  if (own.kind === "missing" && backend.ensureCollection) {
    const schema = schemaOf(target);
    const options = { owner: { jobId, adopt: false } };
    // raced by a hand-made collection: refused below, never written
    const made = await untilDone(
      opts,
      { what: `create collection ${collection}`, jobId },
      () => backend.ensureCollection!(schema, options),
      signal,
      async (e) => (e instanceof CollectionNotOwnedError ? "skip" : "backoff"),
    );
    own = made === undefined ? { kind: "unmarked" } : { kind: "owned" };
  }
  if (own.kind === "owned" || own.kind === "missing") {
    ownedAt.set(target, Date.now());
    return true;
  }
  ownedAt.delete(target);
  const last = refusalLoggedAt.get(target);
  if (last === undefined || Date.now() - last >= REFUSAL_LOG_MS) {
    refusalLoggedAt.set(target, Date.now());
    opts.log.error(
      { jobId, collection },
      `CDC changes not written: ${new CollectionNotOwnedError(collection, own).message}`,
    );
  }
  return false;
}

function isMissingCollection(e: unknown): boolean {
  const status = (e as { status?: unknown }).status;
  return status === 404 && /collection|not found/i.test(errorMessage(e));
}

/**
 * A collection that does not exist yet (no full sync so far) is created from
 * the mapping, then the call is retried. Every path that ensures a collection
 * for CDC writes goes through here (writes and the parked-job probe).
 */
async function createMissingCollection(target: JobTarget, e: unknown): Promise<Recovery> {
  const { backend, jobId } = target;
  if (!isMissingCollection(e)) return "backoff";
  if (target.noCreate) return "skip"; // never created by CDC (see JobTarget.noCreate)
  if (!backend.ensureCollection) return "backoff";
  // created with the job's mark; never adopts (a full run's step)
  const options = { owner: { jobId, adopt: false } };
  await backend.ensureCollection(schemaOf(target), options);
  return "retry";
}

/** A document id no row can have (ids are the id column's text; this one is never written). */
const PROBE_ID = "__athena_ts_probe__";

/**
 * One authenticated write for a parked job: deletes an id that does not exist
 * (creating a missing collection first, as a write would). Throws when the
 * backend still refuses; changes nothing in the collection otherwise.
 */
export async function probeWrite(target: JobTarget): Promise<void> {
  const del = () => target.backend.deleteDocuments(target.collection, [PROBE_ID]);
  try {
    await del();
  } catch (e) {
    if ((await createMissingCollection(target, e)) !== "retry") throw e;
    await del();
  }
}

/**
 * Writes one job's coalesced ops: deletes, full upserts, partial updates
 * (action "update", so a missing doc fails with 404 instead of being created
 * half empty; those are re-read from the source and upserted whole).
 */
export async function writeOps(
  opts: WriterOptions,
  target: JobTarget,
  ops: readonly PendingOp[],
  signal: AbortSignal,
): Promise<WriteResult> {
  if (target.spec && ops.some((o) => o.kind === "render" || o.kind === "fanout")) {
    // rendered once; the rendered upserts/deletes come back here and are dual-written
    return writeSpecOps(opts, target, target.spec, ops, signal);
  }
  const building = buildingTarget(target);
  if (!building) return writeCollection(opts, target, ops, signal);
  // Dual-write (docs/cdc.md "During a rebuild"): the live version first, then the
  // building one, both before this flush's checkpoint moves the LSN past the
  // changes. A crash between the two re-sends the changes; both writes are idempotent.
  const live = await writeCollection(opts, liveTarget(target), ops, signal);
  const next = await writeCollection(opts, building, ops, signal);
  return mergeDual(live, next, building);
}

/**
 * One result for both writes: an id is written when the live write confirmed
 * it and the building version did not reject it; a rejection in the building
 * version is a dead letter whose error names the version.
 */
function mergeDual(live: WriteResult, next: WriteResult, building: JobTarget): WriteResult {
  const rejectedNext = new Set(next.rejected.map((r) => r.docId));
  const named = next.rejected.map((r) => ({
    ...r,
    error: `in the version being built (${building.collection}): ${r.error}`,
  }));
  return {
    written: live.written.filter((id) => !rejectedNext.has(id)),
    rejected: [...live.rejected, ...named],
  };
}

/** writeOps into `target.collection` alone. */
async function writeCollection(
  opts: WriterOptions,
  target: JobTarget,
  ops: readonly PendingOp[],
  signal: AbortSignal,
): Promise<WriteResult> {
  const written: string[] = [];
  const rejected: Rejection[] = [];
  const { backend, collection, jobId } = target;
  if (ops.length === 0 || !(await mayWrite(opts, target, signal))) return { written, rejected };
  // The collection went away since mayWrite (deleted by hand): created again with the
  // job's mark; a collection someone else made meanwhile is refused (backoff, never written).
  const createIfMissing = (e: unknown) => createMissingCollection(target, e);
  // nothing to delete in a collection that does not exist
  const skipIfMissing = async (e: unknown): Promise<Recovery> =>
    isMissingCollection(e) ? "skip" : "backoff";
  const deletes = ops.filter((o) => o.kind === "delete").map((o) => o.id);
  if (deletes.length > 0) {
    await untilDone(
      opts,
      { what: `delete ${deletes.length} from ${collection}`, jobId },
      () => backend.deleteDocuments(collection, deletes),
      signal,
      skipIfMissing,
    );
    written.push(...deletes);
  }
  // Every import body is JSONL lines: row changes arrive serialized (rowOps), anything else
  // is serialized here, once. `payload` gives a rejected line's document back (dead letters).
  const upserts: Lines = { lines: [], ids: [] };
  const partials: Lines = { lines: [], ids: [] };
  for (const o of ops) {
    if (o.kind === "upsert") {
      upserts.lines.push(upsertLine(o));
      upserts.ids.push(o.id);
    } else if (o.kind === "partial") {
      partials.lines.push(serializeDocument(o.doc));
      partials.ids.push(o.id);
    }
  }
  const importAll = async (docs: Lines, action: "upsert" | "update") => {
    if (docs.lines.length === 0) return [] as ImportLineResult[];
    const r = await untilDone(
      opts,
      { what: `${action} ${docs.lines.length} into ${collection}`, jobId },
      () => backend.importDocuments(collection, docs.lines, { action }),
      signal,
      createIfMissing,
    );
    // skipped: a collection CDC must not create is missing (noCreate): nothing written
    return r ?? null;
  };
  const sort = (docs: Lines, results: ImportLineResult[] | null, action: "upsert" | "update") =>
    results === null ? [] : sortResults(jobId, docs, results, action, written, rejected);
  sort(upserts, await importAll(upserts, "upsert"), "upsert");
  const missing = sort(partials, await importAll(partials, "update"), "update");
  if (missing.length > 0) {
    // The doc is not in Typesense (never synced, or deleted by hand): the
    // partial update cannot complete it, so read the whole row again. A row
    // that is gone now was deleted later; its delete is still to come.
    const read = await target.reader.read(missing);
    const docs: Lines = { lines: [], ids: [] };
    for (const d of read.documents.values()) {
      docs.lines.push(serializeDocument(d));
      docs.ids.push(d.id);
    }
    sort(docs, await importAll(docs, "upsert"), "upsert");
  }
  return { written, rejected };
}

/**
 * Sorts one import's result lines into `written` and `rejected`; returns the ids
 * of partial updates whose document is missing (404: re-read and upserted whole).
 */
function sortResults(
  jobId: string,
  docs: Lines,
  results: ImportLineResult[],
  action: "upsert" | "update",
  written: string[],
  rejected: Rejection[],
): string[] {
  const missing: string[] = [];
  for (let i = 0; i < docs.ids.length; i++) {
    const id = docs.ids[i]!;
    const r = results[i];
    if (r?.ok) written.push(id);
    else if (action === "update" && r?.code === 404) missing.push(id);
    else {
      rejected.push({
        jobId,
        docId: id,
        operation: action,
        payload: parseJson(docs.lines[i]!) as Document,
        code: r?.code ?? null,
        error: r?.error ?? "no result line for this document",
      });
    }
  }
  return missing;
}

/** JSONL lines and their document ids, index by index. */
interface Lines {
  lines: string[];
  ids: string[];
}

/** Empties a collection: the backend's truncate, else delete every exported id. */
export async function truncateCollection(
  opts: WriterOptions,
  target: JobTarget,
  signal: AbortSignal,
): Promise<void> {
  // a truncate empties both versions during a rebuild (the live one first)
  const building = buildingTarget(target);
  await truncateOne(opts, liveTarget(target), signal);
  if (building) await truncateOne(opts, building, signal);
}

async function truncateOne(opts: WriterOptions, target: JobTarget, signal: AbortSignal) {
  const { backend, collection } = target;
  if (!(await mayWrite(opts, target, signal))) return;
  await untilDone(
    opts,
    { what: `truncate ${collection}`, jobId: target.jobId },
    async () => {
      if (backend.truncate) {
        await backend.truncate(collection);
        return;
      }
      let ids: string[] = [];
      for await (const id of backend.exportIds(collection)) {
        ids.push(id);
        if (ids.length >= 1000) {
          await backend.deleteDocuments(collection, ids);
          ids = [];
        }
      }
      if (ids.length > 0) await backend.deleteDocuments(collection, ids);
    },
    signal,
    async (e) => (isMissingCollection(e) ? "skip" : "backoff"),
  );
}

/** Roots rendered per statement (and per page of a fan-out: fanout-worker.ts). */
export const RENDER_CHUNK = 1000;

/**
 * A spec job's ops: every `render` id is rendered by the spec's statement NOW
 * (so at least as new as the change that named it) and written as an upsert,
 * or as a delete when the root is gone or outside the filter. A `fanout` is
 * not rendered here: it becomes a fan-out request that this flush's
 * checkpoint queues (sql/012) in the transaction that moves the LSN past its
 * change; the stream's fan-out worker then renders its roots page by page,
 * each page bracketed by watermarks. So a lookup row shared by 200k roots
 * never holds up the flush, and the other jobs of the stream keep their lag.
 */
async function writeSpecOps(
  opts: WriterOptions,
  target: JobTarget,
  spec: SpecTarget,
  ops: readonly PendingOp[],
  signal: AbortSignal,
): Promise<WriteResult> {
  const out: WriteResult = { written: [], rejected: [], fanouts: [] };
  const add = (r: WriteResult) => {
    out.written.push(...r.written);
    out.rejected.push(...r.rejected);
  };
  const plain: PendingOp[] = [];
  const renders: string[] = [];
  const fanouts = new Map<string, (string | null)[][]>();
  for (const o of ops) {
    if (o.kind === "render") renders.push(o.id);
    else if (o.kind === "fanout") {
      const path = o.route === ALL_ROOTS ? ALL_ROOTS_PATH : spec.routes[o.route]!.path;
      const keys = fanouts.get(path);
      if (keys) keys.push(o.key);
      else fanouts.set(path, [o.key]);
    } else plain.push(o);
  }
  if (plain.length > 0) add(await writeOps(opts, target, plain, signal));
  for (let i = 0; i < renders.length; i += RENDER_CHUNK) {
    add(await writeRendered(opts, target, spec, renders.slice(i, i + RENDER_CHUNK), signal));
  }
  for (const [routePath, keys] of fanouts)
    out.fanouts!.push({ jobId: target.jobId, routePath, keys });
  return out;
}

/** Renders `ids` with the spec's statement and writes them: upserts, and deletes for ids without a document. */
async function writeRendered(
  opts: WriterOptions,
  target: JobTarget,
  spec: SpecTarget,
  ids: readonly string[],
  signal: AbortSignal,
): Promise<WriteResult> {
  const lines = await spec.render(ids);
  const rendered: PendingOp[] = ids.map((id) => {
    const line = lines.get(id);
    return line === undefined ? { kind: "delete", id } : { kind: "upsert", id, line };
  });
  return writeOps(opts, target, rendered, signal);
}
