import type { TypesenseTarget } from "../support/typesense.js";

/** A raw HTTP response, for asserting status codes, content types and exact bodies. */
export interface RawResponse {
  status: number;
  contentType: string;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience, bodies are asserted structurally
  json: any;
}

/** Sends one request with fetch (API key header unless `key` is null). */
export async function raw(
  ts: TypesenseTarget,
  method: string,
  path: string,
  body?: unknown,
  opts: { key?: string | null; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  const key = opts.key === undefined ? ts.apiKey : opts.key;
  if (key !== null) headers["X-TYPESENSE-API-KEY"] = key;
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const res = await fetch(ts.url + path, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", text, json };
}

/** Creates a collection with a unique name through raw HTTP; returns the name. */
export async function makeCollection(
  ts: TypesenseTarget,
  fields: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const name = ts.uniqueName("c");
  const r = await raw(ts, "POST", "/collections", { name, fields, ...extra });
  if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.text}`);
  return name;
}

/** POSTs JSONL to import and returns the raw response. */
export function importLines(
  ts: TypesenseTarget,
  name: string,
  lines: string,
  query = "",
): Promise<RawResponse> {
  return raw(ts, "POST", `/collections/${name}/documents/import${query}`, lines, {
    headers: { "Content-Type": "text/plain" },
  });
}

export function jsonl(docs: unknown[]): string {
  return docs.map((d) => JSON.stringify(d)).join("\n");
}
