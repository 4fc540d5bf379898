import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createMetrics, setStreamState } from "../../src/metrics/index.js";

describe("metrics", () => {
  it("every metric the Grafana dashboard queries exists in the registry", async () => {
    const m = createMetrics();
    const names = new Set((await m.registry.getMetricsAsJSON()).map((x) => x.name));
    const dashboard = readFileSync("docs/grafana-dashboard.json", "utf8");
    const used = new Set(
      [...dashboard.matchAll(/athena_ts_[a-z0-9_]+/g)].map((x) =>
        x[0].replace(/_(bucket|sum|count)$/, ""),
      ),
    );
    expect(used.size).toBeGreaterThan(10);
    const missing = [...used].filter((n) => !names.has(n));
    expect(missing).toEqual([]);
  });

  it("registries are independent and the stream state gauge is one-hot", async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.cdcChanges.inc({ client: "app", op: "insert" }, 3);
    expect(await b.registry.metrics()).not.toContain('athena_ts_cdc_changes_total{client="app"');
    setStreamState(a, "app", "backoff");
    setStreamState(a, "app", "streaming");
    const text = await a.registry.metrics();
    expect(text).toContain('athena_ts_cdc_stream_state{client="app",state="streaming"} 1');
    expect(text).toContain('athena_ts_cdc_stream_state{client="app",state="backoff"} 0');
    expect(text).toContain('athena_ts_cdc_changes_total{client="app",op="insert"} 3');
  });
});
