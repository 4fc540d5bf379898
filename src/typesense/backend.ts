import { parseJson } from "../json/codec.js";
import { aliasCall, listAliases, upsertAlias } from "./aliases.js";
import type {
  CollectionSummary,
  ExportOptions,
  ImportOptions,
  TypesenseBackend,
  TypesenseBackendOptions,
} from "./backend-types.js";
import { ensureCollection } from "./ensure-collection.js";
import { badReplyError, parseReply, TypesenseError } from "./errors.js";
import { readExportLines } from "./export-stream.js";
import { checkHealth } from "./health.js";
import { type HttpResponse, TypesenseHttp } from "./http.js";
import { idFilterChunks, isFilterSafeId } from "./id-filter.js";
import { type ImportLineResult, importBody, parseImportResults } from "./import-results.js";
import { searchDocuments } from "./search.js";
import type { Document } from "./types.js";

/*
 * Why raw fetch and not the official `typesense` client (DESIGN section 2
 * prefers the client; these are the reasons to deviate, for every call):
 * - Attempt accounting: the client retries on its own (numRetries 0 becomes 3,
 *   0.1 s apart), so import_max_attempts and the exponential backoff of
 *   withRetry would be multiplied and a retried import could re-apply lines
 *   behind our back. Here one call is one HTTP attempt (plus failover only when
 *   nothing was sent).
 * - int64: the client JSON.parses responses, rounding integers beyond 2^53 in
 *   exported/searched documents; we parse with parseJson (bigint-exact).
 * - Import: the client throws ImportError on any failed line and splits the
 *   answer itself; we need every line as data (dead letters) and our own
 *   serialization of bigint.
 * - One place for node failover, timeouts and error classification.
 */

const enc = encodeURIComponent;
const docsPath = (c: string) => `/collections/${enc(c)}/documents`;

/** The lines joined with "\n" into one buffer (one copy). */
function joinLines(lines: readonly Uint8Array[]): Buffer {
  let size = lines.length - 1;
  for (const l of lines) size += l.length;
  const body = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) body[at++] = 10;
    body.set(lines[i]!, at);
    at += lines[i]!.length;
  }
  return body;
}

/** Typesense's collection summary: an object with a name and a field list. */
function isCollectionSummary(v: unknown): v is CollectionSummary {
  const c = v as Partial<CollectionSummary> | null;
  return (
    typeof c === "object" &&
    c !== null &&
    typeof c.name === "string" &&
    Array.isArray(c.fields) &&
    (c.num_documents === undefined || typeof c.num_documents === "number")
  );
}

function summaryOf(r: HttpResponse, what: string): CollectionSummary {
  const v = parseReply(r, what);
  if (!isCollectionSummary(v)) throw badReplyError(what, r.node, r.status, "a collection");
  return v;
}

function numDeleted(v: unknown): number {
  return Number((v as { num_deleted?: unknown } | null)?.num_deleted ?? 0);
}

/** Statuses forward() hands back instead of throwing. */
const CLIENT_ERRORS: readonly number[] = Array.from({ length: 100 }, (_, i) => 400 + i);

export function createTypesenseBackend(opts: TypesenseBackendOptions): TypesenseBackend {
  const http = new TypesenseHttp(opts);

  /** POST .../documents/import of a JSONL body; one result per line (idOf: line i's id). */
  async function postImport(
    collection: string,
    body: Buffer,
    lines: number,
    idOf: (i: number) => string,
    o: ImportOptions,
    returnId = true,
  ): Promise<ImportLineResult[]> {
    const r = await http.request({
      method: "POST",
      path: `${docsPath(collection)}/import`,
      query: { action: o.action, dirty_values: o.dirtyValues, return_id: returnId || undefined },
      body,
      contentType: "text/plain",
      signal: o.signal,
      timeoutMs: o.timeoutMs,
    });
    return parseImportResults(r.body, lines, idOf);
  }
  const maxFilter = opts.maxIdFilterLength ?? 3000;
  /** The JSON of an answer; not JSON -> a "reply" TypesenseError (502 on the API), never a crash. */
  const json = (r: HttpResponse, what: string) => parseReply(r, what);

  async function* iterate(
    collection: string,
    o: Omit<ExportOptions, "ids"> = {},
  ): AsyncIterable<Document> {
    const spec = {
      method: "GET" as const,
      path: `${docsPath(collection)}/export`,
      query: {
        filter_by: o.filterBy,
        include_fields: o.includeFields,
        exclude_fields: o.excludeFields,
      },
      signal: o.signal,
      timeoutMs: o.timeoutMs,
    };
    const res = await http.stream(spec);
    yield* readExportLines(res, o.timeoutMs ?? opts.timeoutMs, (err) =>
      http.streamError(err, res.node, spec),
    );
  }

  async function exportAll(collection: string, o: Omit<ExportOptions, "ids">): Promise<Document[]> {
    const r = await http.request({
      method: "GET",
      path: `${docsPath(collection)}/export`,
      query: {
        filter_by: o.filterBy,
        include_fields: o.includeFields,
        exclude_fields: o.excludeFields,
      },
      signal: o.signal,
      timeoutMs: o.timeoutMs,
    });
    const out: Document[] = [];
    for (const line of r.body.split("\n")) {
      if (line.trim() === "") continue;
      out.push(parseReply({ ...r, body: line }, "GET export", parseJson) as Document);
    }
    return out;
  }

  /** Single-document GET for ids a filter cannot express; null when missing. */
  async function getOne(
    collection: string,
    id: string,
    o: ExportOptions,
  ): Promise<Document | null> {
    const r = await http.request({
      method: "GET",
      path: `${docsPath(collection)}/${enc(id)}`,
      query: { include_fields: o.includeFields, exclude_fields: o.excludeFields },
      signal: o.signal,
      timeoutMs: o.timeoutMs,
      accept: [404],
    });
    return r.status === 404 ? null : (parseReply(r, "GET document", parseJson) as Document);
  }

  const backend: TypesenseBackend = {
    nodes: http.nodes,

    health: () => checkHealth(http, opts.timeoutMs),

    async verifyKey(o = {}) {
      // limit/exclude_fields keep the answer small (v27+; older versions ignore them)
      const r = await http.request({
        method: "GET",
        path: "/collections",
        query: { limit: 1, exclude_fields: "fields" },
        ...o,
      });
      // a server that only mimics /health does not pass as Typesense
      if (!Array.isArray(json(r, "GET /collections"))) {
        throw badReplyError("GET /collections", r.node, r.status, "a list of collections");
      }
    },

    async listCollections(o = {}) {
      const r = await http.request({ method: "GET", path: "/collections", ...o });
      const list = json(r, "GET /collections");
      if (!Array.isArray(list) || !list.every(isCollectionSummary)) {
        throw badReplyError("GET /collections", r.node, r.status, "a list of collections");
      }
      return list;
    },

    async getCollection(name, o = {}) {
      const r = await http.request({
        method: "GET",
        path: `/collections/${enc(name)}`,
        accept: [404],
        ...o,
      });
      if (r.status === 404) return null;
      return summaryOf(r, "GET /collections/:name");
    },

    async createCollection(schema, o = {}) {
      const r = await http.request({
        method: "POST",
        path: "/collections",
        body: JSON.stringify(schema),
        ...o,
      });
      return summaryOf(r, "POST /collections");
    },

    async patchCollectionFields(name, fields, o = {}) {
      await http.request({
        method: "PATCH",
        path: `/collections/${enc(name)}`,
        body: JSON.stringify({ fields }),
        ...o,
      });
    },

    async patchCollectionMetadata(name, metadata, o = {}) {
      await http.request({
        method: "PATCH",
        path: `/collections/${enc(name)}`,
        body: JSON.stringify({ metadata }),
        ...o,
      });
    },

    async deleteCollection(name, o = {}) {
      const r = await http.request({
        method: "DELETE",
        path: `/collections/${enc(name)}`,
        accept: [404],
        ...o,
      });
      return r.status !== 404;
    },

    upsertAlias: (name, collection, o) => upsertAlias(http, name, collection, o),
    getAlias: (name, o) => aliasCall(http, "GET", name, o),
    listAliases: (o) => listAliases(http, o),
    deleteAlias: (name, o) => aliasCall(http, "DELETE", name, o),

    async importDocuments(collection, docs, o) {
      if (docs.length === 0) return [];
      const { body, idOf } = importBody(docs);
      // a Buffer body takes the node:http path (see http.ts)
      return postImport(collection, Buffer.from(body, "utf8"), docs.length, idOf, o);
    },

    async importJsonLines(collection, lines, ids, o) {
      const count = "body" in lines ? lines.count : lines.length;
      if (count === 0) return [];
      if (ids.length !== count) throw new TypeError("importJsonLines: one id per line");
      const body = "body" in lines ? lines.body : joinLines(lines);
      // The caller names every line's id, so the answer need not repeat them:
      // an all-success answer is then N times `{"success":true}`, checked as a whole.
      return postImport(collection, body, count, (i) => ids[i] ?? "", o, false);
    },

    async exportDocuments(collection, o = {}) {
      if (o.ids === undefined) return exportAll(collection, o);
      const unique = [...new Set(o.ids)];
      const out: Document[] = [];
      for (const chunk of idFilterChunks(unique.filter(isFilterSafeId), maxFilter)) {
        const filterBy = o.filterBy === undefined ? chunk : `(${o.filterBy}) && ${chunk}`;
        out.push(...(await exportAll(collection, { ...o, filterBy })));
      }
      const unsafe = unique.filter((id) => !isFilterSafeId(id));
      if (unsafe.length > 0 && o.filterBy !== undefined) {
        throw new TypesenseError({
          message: `${unsafe.length} id(s) cannot be written in a filter (backtick, edge whitespace or empty) and filterBy needs one`,
          kind: "rejected",
        });
      }
      for (const id of unsafe) {
        const d = await getOne(collection, id, o);
        if (d) out.push(d);
      }
      return out;
    },

    iterateDocuments: iterate,

    async *exportIds(collection, o = {}) {
      for await (const d of iterate(collection, { ...o, includeFields: "id" })) yield d.id;
    },

    async getDocuments(collection, ids, o = {}) {
      const docs = await backend.exportDocuments(collection, { ...o, ids });
      return new Map(docs.map((d) => [d.id, d]));
    },

    async deleteDocuments(collection, ids, o = {}) {
      let deleted = 0;
      const unique = [...new Set(ids)];
      for (const filterBy of idFilterChunks(unique.filter(isFilterSafeId), maxFilter)) {
        const r = await http.request({
          method: "DELETE",
          path: docsPath(collection),
          query: { filter_by: filterBy, batch_size: 500 },
          ...o,
        });
        deleted += numDeleted(json(r, "DELETE documents"));
      }
      for (const id of unique.filter((x) => !isFilterSafeId(x))) {
        const r = await http.request({
          method: "DELETE",
          path: `${docsPath(collection)}/${enc(id)}`,
          query: { ignore_not_found: true },
          accept: [404],
          ...o,
        });
        // ignore_not_found answers {"id": ...} without the document (v26+); 404 on older versions.
        if (r.status !== 404 && Object.keys(Object(json(r, "DELETE document"))).length > 1)
          deleted++;
      }
      return deleted;
    },

    async truncate(collection, o = {}) {
      const r = await http.request({
        method: "DELETE",
        path: docsPath(collection),
        query: { truncate: true },
        accept: [400],
        ...o,
      });
      if (r.status !== 400) return numDeleted(json(r, "DELETE documents"));
      // Before v28 there is no truncate=true ("filter_by must be provided"): delete by id.
      const ids: string[] = [];
      for await (const id of backend.exportIds(collection, o)) ids.push(id);
      return backend.deleteDocuments(collection, ids, o);
    },

    search: (collection, params, o) => searchDocuments(http, collection, params, o),

    async forward(spec, o = {}) {
      // every 4xx is Typesense's answer to the caller's request: handed back as it is
      const r = await http.request({ ...spec, ...o, accept: CLIENT_ERRORS });
      return { status: r.status, body: r.body };
    },

    ensureCollection: (desired, o) => ensureCollection(backend, desired, o),

    async close() {
      http.close();
    },
  };
  return backend;
}
