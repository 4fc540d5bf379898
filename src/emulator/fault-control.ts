import { ApiError } from "./errors.js";
import type { FaultInjector } from "./faults.js";

/**
 * The HTTP control body: {"action":"fail"|"latency"|"drop"|"down"|"clear", method?, path?
 * (glob), pathRegex?, times?, status?, body?, ms?, after?}. "down" needs `ms`, since nothing
 * can reach the control route while the server is down.
 */
export function applyControl(faults: FaultInjector, payload: unknown): Record<string, unknown> {
  if (typeof payload !== "object" || payload === null) throw new ApiError(400, "Bad JSON.");
  const p = payload as Record<string, unknown>;
  const str = (k: string) => (typeof p[k] === "string" ? (p[k] as string) : undefined);
  const num = (k: string) => (typeof p[k] === "number" ? (p[k] as number) : undefined);
  const regex = str("pathRegex");
  const match = {
    ...(str("method") ? { method: str("method") } : {}),
    ...(regex ? { path: new RegExp(regex) } : str("path") ? { path: str("path") } : {}),
  };
  const times = num("times");
  const withTimes = times === undefined ? {} : { times };
  switch (p.action) {
    case "fail":
      faults.failNext({
        ...match,
        ...withTimes,
        status: num("status") ?? 503,
        body: p.body ?? { message: "Not Ready or Lagging" },
        after: p.after === true,
      });
      break;
    case "latency":
      faults.addLatency({ ...match, ...withTimes, ms: num("ms") ?? 0 });
      break;
    case "drop":
      faults.dropConnections({ ...match, ...withTimes, after: p.after === true });
      break;
    case "down": {
      const ms = num("ms");
      if (ms === undefined || ms <= 0) throw new ApiError(400, "`down` needs a positive `ms`.");
      // Answer first, then go down: the caller gets its 200.
      setTimeout(() => void faults.goDown(ms), 0);
      break;
    }
    case "clear":
      faults.clear();
      break;
    default:
      throw new ApiError(400, "Unknown fault `action`.");
  }
  return { ok: true, rules: faults.list() };
}
