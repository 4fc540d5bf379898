import type { HealthResult, NodeHealth } from "./backend-types.js";
import { messageOf, TypesenseError } from "./errors.js";
import type { TypesenseHttp } from "./http.js";

/** GET /health on every node in parallel (no key needed); never throws. */
export async function checkHealth(http: TypesenseHttp, timeoutMs: number): Promise<HealthResult> {
  const nodes = await Promise.all(
    http.nodes.map(async (node): Promise<NodeHealth> => {
      const started = performance.now();
      try {
        const r = await http.requestNode(node, "/health", timeoutMs);
        const latencyMs = Math.round(performance.now() - started);
        if (r.status === 200 && healthyBody(r.body)) {
          return { node, ok: true, reachable: true, latencyMs };
        }
        const error =
          r.status === 200
            ? `GET /health: ${node} answered HTTP 200 without Typesense's {"ok": true}; is this a Typesense node?`
            : messageOf(r.body, r.status);
        return { node, ok: false, reachable: true, latencyMs, error };
      } catch (err) {
        const latencyMs = Math.round(performance.now() - started);
        return {
          node,
          ok: false,
          // a redirect is an answer (TypesenseError with a status); a timeout or refusal is not
          reachable: err instanceof TypesenseError && err.status !== undefined,
          latencyMs,
          error: err instanceof Error ? err.message : String(err),
        };
      }
    }),
  );
  const healthy = nodes.filter((n) => n.ok);
  const pool = healthy.length > 0 ? healthy : nodes;
  return { ok: healthy.length > 0, latencyMs: Math.min(...pool.map((n) => n.latencyMs)), nodes };
}

function healthyBody(body: string): boolean {
  try {
    return (JSON.parse(body) as { ok?: unknown }).ok === true;
  } catch {
    return false;
  }
}
