import { createServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeepAliveAgents, exchangeBuffer } from "../../src/typesense/http-node.js";

/*
 * Node's keep-alive race: the server closes an idle keep-alive socket while
 * the client sends the next request on it. The request fails with ECONNRESET
 * before any answer; the server never processed it, so it is sent again on a
 * fresh socket instead of failing the import (and marking the node down).
 * A raw TCP server makes the race deterministic: it answers the first request
 * of a connection, and resets the connection on its second one.
 */
describe("imports over a keep-alive socket the server has closed", () => {
  let port = 0;
  const seen: { connection: number; request: number }[] = [];
  const server = createServer((socket: Socket) => {
    const connection = seen.reduce((n, s) => Math.max(n, s.connection), 0) + 1;
    let request = 0;
    socket.on("data", (chunk) => {
      // one request per chunk here (small bodies, one write each)
      if (!chunk.toString("latin1").includes("HTTP/1.1")) return;
      request++;
      seen.push({ connection, request });
      if (request === 2) {
        socket.resetAndDestroy();
        return;
      }
      const body = '{"success":true}';
      socket.write(
        `HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    });
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it("sends the request again on a fresh socket and gets the answer", async () => {
    const agents = createKeepAliveAgents();
    const url = new URL(`http://127.0.0.1:${port}/collections/c/documents/import`);
    const exchange = () =>
      exchangeBuffer(url, {
        method: "POST",
        apiKey: "k",
        contentType: "text/plain",
        body: Buffer.from('{"id":"1"}'),
        signal: new AbortController().signal,
        agents,
        onHeaders: () => {},
      });
    try {
      expect(await exchange()).toEqual({ status: 200, body: '{"success":true}' });
      // reuses the idle socket, which the server resets: sent again on a new one
      expect(await exchange()).toEqual({ status: 200, body: '{"success":true}' });
      expect(seen).toEqual([
        { connection: 1, request: 1 },
        { connection: 1, request: 2 },
        { connection: 2, request: 1 },
      ]);
    } finally {
      agents.http.destroy();
    }
  });
});
