import { type DocumentValue, parseJson, serializeDocument } from "../json/codec.js";
import type { WriteAction } from "./collection.js";
import { type DocContext, parseAction } from "./documents.js";
import { ApiError } from "./errors.js";
import { boolFlag, type Reply, text } from "./http.js";
import { decodeLines, LineScanner, NO_ID } from "./null-sink.js";
import { type DirtyMode, parseDirtyValues } from "./validate.js";

const SUCCESS_LINE = '{"success":true}';
const SUCCESS_NL = `${SUCCESS_LINE}\n`;

/** Turns a JSON.parse failure into Typesense's "Bad JSON: [json.exception...]" text. */
function badJson(line: string, e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const pos = /position (\d+)/.exec(msg);
  const column = pos ? Number(pos[1]) + 1 : line.length;
  const detail = msg.includes("end of JSON") ? "unexpected end of input" : msg.toLowerCase();
  return `Bad JSON: [json.exception.parse_error.101] parse error at line 1, column ${column}: syntax error while parsing value - ${detail}`;
}

interface ImportRun {
  ctx: DocContext;
  action: WriteAction;
  mode: DirtyMode;
  returnId: boolean;
  returnDoc: boolean;
}

/** The full answer to one line: parsed, validated, written (or not, in a null sink). */
function fullAnswer(run: ImportRun, line: string): string {
  const { ctx, action, mode, returnId, returnDoc } = run;
  let result:
    | { ok: true; id: string; doc: Record<string, unknown> }
    | { ok: false; code: number; error: string };
  try {
    // exact: integers beyond 2^53 stay bigints (Typesense keeps int64 exactly)
    result = ctx.coll.write(parseJson(line), action, mode, ctx.nullSink);
  } catch (e) {
    result = { ok: false, code: 400, error: badJson(line, e) };
  }
  if (result.ok) {
    ctx.stats.importSucceeded++;
    if (!returnId && !returnDoc) return SUCCESS_LINE;
    // Keys in alphabetical order, like every Typesense JSON response.
    const r: Record<string, unknown> = {};
    if (returnDoc) r.document = result.doc;
    if (returnId) r.id = result.id;
    r.success = true;
    return serializeDocument(r as DocumentValue);
  }
  ctx.stats.importFailed++;
  const r: Record<string, unknown> = { code: result.code };
  if (returnDoc) r.document = line;
  r.error = result.error;
  r.success = false;
  return JSON.stringify(r);
}

/**
 * POST /collections/:c/documents/import, the body as a string or as its raw chunks. One
 * result line per non-empty input line, in order; whole-request errors throw before any line
 * is applied. Lines are applied one at a time, so a repeated id sees the earlier line.
 */
export function importDocuments(ctx: DocContext, body: string | readonly Buffer[]): Reply {
  const { coll, params, stats } = ctx;
  const action = parseAction(params);
  const bs = params.batch_size;
  if (bs !== undefined && (!/^\d+$/.test(bs) || Number(bs) === 0)) {
    throw new ApiError(400, "Parameter `batch_size` must be a positive integer.");
  }
  const returnId = boolFlag(params, "return_id");
  const returnDoc = boolFlag(params, "return_doc");
  const mode = parseDirtyValues(params.dirty_values, coll.hasDynamicFields);
  const run: ImportRun = { ctx, action, mode, returnId, returnDoc };
  stats.importRequests++;
  // The fast sink answers a line from its id alone; return_doc needs the validated document.
  const scan = ctx.nullSink && ctx.fastSink && !returnDoc;
  // Line-aligned pieces for the fast sink (decodeLines: same text, far cheaper); every other
  // mode decodes the body at once, which keeps it the reference the fast sink is tested against.
  const texts = typeof body === "string" ? [body] : scan ? decodeLines(body) : [decodeWhole(body)];
  const scanner = new LineScanner();
  // Result lines, each followed by "\n" (the last one is cut): appending to one string is
  // cheaper than collecting and joining an array of them. A run of plain success lines is
  // appended at once, as a slice of a cached string (the sidecar's full sync sends no return_id).
  let out = "";
  let successes = 0; // plain success lines owed to `out`
  let lines = 0;
  for (const t of texts) {
    // the decoded length, as when the body was one string (the stat counts UTF-16 units)
    stats.importBytes += t.length;
    if (scan) scanner.reset(t);
    const len = t.length;
    let pos = 0;
    while (pos < len) {
      let nl = t.indexOf("\n", pos);
      if (nl < 0) nl = len;
      const start = pos;
      pos = nl + 1;
      if (nl === start) continue; // an empty line gets no result line
      lines++;
      if (scan) {
        let id = scanner.lineId(start, nl);
        if (id === NO_ID) id = action === "update" ? undefined : coll.nextSinkId();
        if (id !== undefined) {
          stats.importSucceeded++;
          // the id holds no quote, backslash or control character (lineId): no escaping
          if (returnId) out += `{"id":"${id}","success":true}\n`;
          else successes++;
          continue;
        }
        // anything the scan cannot vouch for gets the full answer below
      }
      const answer = fullAnswer(run, t.slice(start, nl));
      if (successes > 0) out += successLines(successes);
      successes = 0;
      out += `${answer}\n`;
    }
  }
  if (successes > 0) out += successLines(successes);
  stats.importedLines += lines;
  return text(200, out.slice(0, -1));
}

/** Cache for successLines: SUCCESS_NL repeated, flattened by its first slice. */
let successRun = "";

/** `n` lines of SUCCESS_NL. */
function successLines(n: number): string {
  const len = n * SUCCESS_NL.length;
  if (successRun.length < len) successRun = SUCCESS_NL.repeat(Math.max(n, 1024));
  return successRun.slice(0, len);
}

function decodeWhole(chunks: readonly Buffer[]): string {
  return chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8");
}
