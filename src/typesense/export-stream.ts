import { parseJson } from "../json/codec.js";
import { badReplyError, TypesenseError } from "./errors.js";
import type { StreamResponse } from "./http.js";
import type { Document } from "./types.js";

/**
 * Yields the JSONL documents of an export answer as they arrive, so memory is
 * bounded by one network chunk, not by the collection. A transfer that sends
 * nothing for `stallMs` fails as a timeout; leaving the loop early cancels it.
 */
export async function* readExportLines(
  res: StreamResponse,
  stallMs: number,
  wrap: (err: unknown) => unknown,
): AsyncGenerator<Document> {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              const message = `export from ${res.node} stalled for ${stallMs} ms`;
              reject(new TypesenseError({ message, kind: "timeout", node: res.node }));
            }, stallMs);
          }),
        ]);
      } catch (err) {
        throw wrap(err);
      } finally {
        clearTimeout(timer);
      }
      if (chunk.done) break;
      buf += chunk.value;
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() !== "") yield documentOf(line, res);
        nl = buf.indexOf("\n");
      }
    }
    if (buf.trim() !== "") yield documentOf(buf, res);
  } finally {
    res.cancel();
    reader.releaseLock();
  }
}

/**
 * One export line as a document. A line that is not a JSON object is a reply
 * error naming the node, never the parser's message, which would quote the
 * remote body (an HTML login page, a proxy's error text).
 */
function documentOf(line: string, res: StreamResponse): Document {
  let doc: unknown;
  try {
    doc = parseJson(line);
  } catch {
    throw badReplyError("export", res.node, res.status, "JSONL of documents");
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw badReplyError("export", res.node, res.status, "JSONL of documents");
  }
  return doc as Document;
}
