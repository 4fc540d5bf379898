/** One /ready check: true = ok. A probe that throws or rejects counts as failed. */
export type ReadinessProbe = () => boolean | Promise<boolean>;

/**
 * AppDeps.readiness from named probes: every probe runs on each /ready call,
 * in parallel; the result names each check (docs/api.md, GET /ready). The
 * route bounds the whole call with its probe timeout (http/routes/health.ts).
 */
export function readinessOf(
  probes: Record<string, ReadinessProbe>,
): () => Promise<Record<string, boolean>> {
  const entries = Object.entries(probes);
  return async () => {
    const results = await Promise.all(
      entries.map(async ([name, probe]) => {
        try {
          return [name, (await probe()) === true] as const;
        } catch {
          return [name, false] as const;
        }
      }),
    );
    return Object.fromEntries(results);
  };
}

/**
 * The probes `serve` passes to the API (built once there):
 *   serving  false once the stop signal arrived: while the instance drains
 *            (HTTP answers until last, see serve.ts), a load balancer stops
 *            sending it traffic; /health stays 200 meanwhile.
 */
export function serveProbes(o: { signal: AbortSignal }): Record<string, ReadinessProbe> {
  return { serving: () => !o.signal.aborted };
}
