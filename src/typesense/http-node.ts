import http from "node:http";
import https from "node:https";

/**
 * One node:http(s) exchange with a Buffer body (Typesense imports): the
 * bytes go out in one write, the whole answer comes back as UTF-8 text.
 * Timeouts, aborts, failover and error classes are the caller's (http.ts);
 * `signal` aborts the exchange, `onHeaders` marks that the answer began.
 */
export interface BufferExchange {
  method: string;
  apiKey: string;
  contentType: string;
  body: Buffer;
  signal: AbortSignal;
  agents: KeepAliveAgents;
  onHeaders: () => void;
}

export interface KeepAliveAgents {
  http: http.Agent;
  https: https.Agent;
}

export function createKeepAliveAgents(): KeepAliveAgents {
  return { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
}

export async function exchangeBuffer(
  url: URL,
  o: BufferExchange,
): Promise<{ status: number; body: string }> {
  // A keep-alive socket the server closed while idle fails the next request
  // with ECONNRESET/EPIPE before any answer (Node's documented keep-alive
  // race): it is sent again at once on another socket instead of surfacing as
  // a network error that marks the node down. Resending is safe because the
  // sidecar's imports are idempotent (upsert/emplace/update; withRetry would
  // resend them too), and bounded: after 4 stale sockets (e.g. every pooled
  // one after a Typesense restart) the error surfaces as before.
  for (let attempt = 1; ; attempt++) {
    try {
      return await exchangeOnce(url, o);
    } catch (e) {
      if (!(e instanceof StaleSocketError) || attempt >= 4 || o.signal.aborted) {
        throw e instanceof StaleSocketError ? e.cause : e;
      }
    }
  }
}

/** The request failed on a reused keep-alive socket before any answer. */
class StaleSocketError extends Error {
  constructor(override readonly cause: unknown) {
    super("stale keep-alive socket");
  }
}

function exchangeOnce(url: URL, o: BufferExchange): Promise<{ status: number; body: string }> {
  const secure = url.protocol === "https:";
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      url,
      {
        method: o.method,
        agent: secure ? o.agents.https : o.agents.http,
        signal: o.signal,
        headers: {
          "X-TYPESENSE-API-KEY": o.apiKey,
          "Content-Type": o.contentType,
          "Content-Length": o.body.length,
        },
      },
      (res) => {
        o.onHeaders();
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        // a connection cut mid-body ends the response early: not a full answer
        res.on("aborted", () => reject(new Error("response aborted")));
        res.on("end", () => {
          if (!res.complete) return reject(new Error("response incomplete"));
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        });
      },
    );
    let answered = false;
    req.on("response", () => {
      answered = true;
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      const stale =
        !answered && req.reusedSocket && (err.code === "ECONNRESET" || err.code === "EPIPE");
      reject(stale ? new StaleSocketError(err) : err);
    });
    req.end(o.body);
  });
}
