import { type DocumentValue, serializeDocument } from "../json/codec.js";
import type { Collection, WriteAction } from "./collection.js";
import { ApiError } from "./errors.js";
import { evaluateFilter, parseFilter } from "./filter.js";
import { boolFlag, json, message, parseJsonBody, type Reply, text } from "./http.js";
import { projectDocument } from "./search.js";
import { parseDirtyValues } from "./validate.js";

/** Counters kept by the emulator (mostly for null-sink benchmarks). */
export interface EmulatorStats {
  /** Every request that reached the server (faulted ones included). */
  requests: number;
  /** POST …/documents/import requests that were processed. */
  importRequests: number;
  /** Non-empty import lines processed (one result line each). */
  importedLines: number;
  /** Import lines that succeeded / failed. */
  importSucceeded: number;
  importFailed: number;
  /** Bytes of import bodies received. */
  importBytes: number;
  /** Single-document writes (POST/PATCH/DELETE on one document). */
  documentWrites: number;
  /** Requests answered by an injected fault. */
  faultsInjected: number;
}

export function emptyStats(): EmulatorStats {
  return {
    requests: 0,
    importRequests: 0,
    importedLines: 0,
    importSucceeded: 0,
    importFailed: 0,
    importBytes: 0,
    documentWrites: 0,
    faultsInjected: 0,
  };
}

/** Context the document handlers share. */
export interface DocContext {
  coll: Collection;
  params: Record<string, string>;
  /** Store nothing (both null-sink modes). */
  nullSink: boolean;
  /**
   * The fast null sink: import lines are scanned, not parsed or validated (null-sink.ts);
   * only with `nullSink`.
   */
  fastSink: boolean;
  stats: EmulatorStats;
}

export function parseAction(params: Record<string, string>): WriteAction {
  const a = params.action ?? "create";
  if (a === "create" || a === "upsert" || a === "update" || a === "emplace") return a;
  throw new ApiError(400, "Parameter `action` must be a create|update|upsert.");
}

/** GET /collections/:c/documents/export: stored docs in ascending seq order, no trailing \n. */
export function exportDocuments(ctx: DocContext): Reply {
  const { coll, params } = ctx;
  const filter = params.filter_by;
  const docs =
    filter !== undefined && filter.trim() !== ""
      ? evaluateFilter(parseFilter(filter, coll), coll)
      : coll.ascending();
  const lines: string[] = [];
  for (const d of docs)
    lines.push(serializeDocument(projectDocument(d.doc, params) as DocumentValue));
  return text(200, lines.join("\n"));
}

/** POST /collections/:c/documents: one write; the status is the per-document code. */
export function createDocument(ctx: DocContext, body: string): Reply {
  const action = parseAction(ctx.params);
  const mode = parseDirtyValues(ctx.params.dirty_values, ctx.coll.hasDynamicFields);
  const doc = parseJsonBody(body);
  ctx.stats.documentWrites++;
  const r = ctx.coll.write(doc, action, mode, ctx.nullSink);
  return r.ok ? json(201, r.doc) : message(r.code, r.error);
}

function notFound(id: string): ApiError {
  return new ApiError(404, `Could not find a document with id: ${id}`);
}

export function getDocument(ctx: DocContext, id: string): Reply {
  const d = ctx.coll.docs.get(id);
  if (!d) throw notFound(id);
  return json(200, projectDocument(d.doc, ctx.params));
}

/** PATCH /collections/:c/documents/:id: merge-patch, 200 with the full merged doc. */
export function patchDocument(ctx: DocContext, id: string, body: string): Reply {
  const patch = parseJsonBody(body);
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
    throw new ApiError(400, "Bad JSON.");
  }
  if (!ctx.nullSink && !ctx.coll.docs.has(id)) throw notFound(id);
  const mode = parseDirtyValues(ctx.params.dirty_values, ctx.coll.hasDynamicFields);
  ctx.stats.documentWrites++;
  const r = ctx.coll.write({ ...patch, id }, "update", mode, ctx.nullSink);
  return r.ok ? json(200, r.doc) : message(r.code, r.error);
}

export function deleteDocument(ctx: DocContext, id: string): Reply {
  ctx.stats.documentWrites++;
  const d = ctx.coll.remove(id);
  if (d) return json(200, d.doc);
  if (ctx.params.ignore_not_found === "true") return json(200, { id });
  throw notFound(id);
}

/** DELETE /collections/:c/documents?filter_by=…|truncate=true */
export function deleteByFilter(ctx: DocContext): Reply {
  const { coll, params } = ctx;
  const returnId = boolFlag(params, "return_id");
  const returnDoc = boolFlag(params, "return_doc");
  const bs = params.batch_size;
  if (bs !== undefined && (!/^\d+$/.test(bs) || Number(bs) === 0)) {
    throw new ApiError(400, "Parameter `batch_size` must be a positive integer.");
  }
  let docs: { id: string; doc: Record<string, unknown> }[];
  if (params.truncate === "true") {
    docs = returnId || returnDoc ? [...coll.ascending()] : [];
    const n = coll.clear();
    if (!returnId && !returnDoc) return json(200, { num_deleted: n });
  } else {
    const filter = params.filter_by;
    if (filter === undefined || filter.trim() === "") {
      throw new ApiError(400, "Parameter `filter_by` must be provided.");
    }
    docs = evaluateFilter(parseFilter(filter, coll), coll);
    for (const d of docs) coll.remove(d.id);
  }
  const out: Record<string, unknown> = {};
  if (returnDoc) out.documents = docs.map((d) => d.doc);
  if (returnId) out.ids = docs.map((d) => d.id);
  out.num_deleted = docs.length;
  return json(200, out);
}

/** PATCH /collections/:c/documents?filter_by=… with a partial document. */
export function updateByFilter(ctx: DocContext, body: string): Reply {
  const { coll, params } = ctx;
  const filter = params.filter_by;
  if (filter === undefined || filter.trim() === "") {
    throw new ApiError(400, "Parameter `filter_by` must be provided.");
  }
  const patch = parseJsonBody(body);
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
    throw new ApiError(400, "Bad JSON.");
  }
  const mode = parseDirtyValues(params.dirty_values, coll.hasDynamicFields);
  const docs = evaluateFilter(parseFilter(filter, coll), coll);
  let n = 0;
  for (const d of docs) {
    const r = coll.write({ ...patch, id: d.id }, "update", mode, ctx.nullSink);
    if (!r.ok) throw new ApiError(r.code, r.error);
    n++;
  }
  return json(200, { num_updated: n });
}
