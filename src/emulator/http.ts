import type { IncomingMessage } from "node:http";
import { type DocumentValue, parseJson, serializeDocument } from "../json/codec.js";
import { ApiError } from "./errors.js";

/** A response before it is written: handlers return these, the server sends them. */
export interface Reply {
  status: number;
  body: string;
  /** JSON replies use application/json; import/export use text/plain. */
  text?: boolean;
}

export function json(status: number, value: unknown): Reply {
  return { status, body: serializeDocument(value as DocumentValue) };
}

export function text(status: number, body: string): Reply {
  return { status, body, text: true };
}

export function message(status: number, msg: string): Reply {
  return json(status, { message: msg });
}

function decode(s: string): string {
  const plus = s.includes("+") ? s.replaceAll("+", " ") : s;
  if (!plus.includes("%")) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    // Malformed escapes are kept literally rather than failing the request.
    return plus;
  }
}

/**
 * Parses a query string the way Typesense does: `+` is a space, `%XX` is decoded, a repeated
 * parameter keeps its last value, and repeated `filter_by` values are joined with `&&`.
 */
export function parseQuery(qs: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (qs === "") return out;
  for (const part of qs.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = decode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? "" : decode(part.slice(eq + 1));
    if (key === "filter_by" && out.filter_by !== undefined && out.filter_by !== "") {
      out.filter_by = `${out.filter_by}&&${value}`;
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** Reads the whole request body as its raw chunks (not joined). */
export async function readRaw(req: IncomingMessage): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks;
}

/** Reads the whole request body as UTF-8. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks = await readRaw(req);
  return chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8");
}

/** Parses a JSON request body; anything unparsable is 400 "Bad JSON.". */
export function parseJsonBody(body: string): unknown {
  try {
    return parseJson(body);
  } catch {
    throw new ApiError(400, "Bad JSON.");
  }
}

/** "true"/"false" params (return_id, return_doc): anything else is a 400. */
export function boolFlag(params: Record<string, string>, name: string): boolean {
  const v = params[name];
  if (v === undefined) return false;
  if (v === "true") return true;
  if (v === "false") return false;
  throw new ApiError(400, `Parameter \`${name}\` must be a true|false.`);
}
