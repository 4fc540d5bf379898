import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "./logger.js";

/**
 * A long-running worker (HTTP server, scheduler, CDC stream).
 *
 * `run(signal)` resolves when the service has stopped cleanly: after `signal`
 * aborts it finishes the unit of work in hand (an import window, a CDC batch),
 * persists its checkpoint, and returns. A rejection means the service failed;
 * the runner then stops every other service too.
 */
export interface Service {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
}

export interface RunServicesOptions {
  log: Logger;
  /** Aborting this stops all services (in reverse start order). */
  signal: AbortSignal;
  /** Upper bound for each service's drain after its signal aborted. */
  drainTimeoutMs: number;
}

/**
 *   start: s1.run, s2.run, ... sN.run       (in order)
 *   stop:  abort sN, await sN (bounded) ... abort s1, await s1
 *
 * Stop is triggered by the outer signal or by any service ending on its own
 * (failure or unexpected return). Resolves with the first failure, if any, so
 * the CLI can choose the exit code. A service that does not drain within
 * `drainTimeoutMs` is abandoned and reported; the process exits anyway.
 */
export async function runServices(
  services: readonly Service[],
  opts: RunServicesOptions,
): Promise<{ failed: Error | undefined; timedOut: string[] }> {
  const { log } = opts;
  const controllers = services.map(() => new AbortController());
  let failed: Error | undefined;
  let resolveStop: () => void = () => {};
  const stopRequested = new Promise<void>((r) => {
    resolveStop = r;
  });
  if (opts.signal.aborted) resolveStop();
  opts.signal.addEventListener("abort", () => resolveStop(), { once: true });

  const runs = services.map((s, i) => {
    const ctl = controllers[i]!;
    log.info({ component: "lifecycle", service: s.name }, "service starting");
    return s.run(ctl.signal).then(
      () => {
        if (!ctl.signal.aborted) {
          log.warn({ component: "lifecycle", service: s.name }, "service ended on its own");
          resolveStop();
        }
      },
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        if (!ctl.signal.aborted || !failed) {
          failed ??= err;
          log.error({ component: "lifecycle", service: s.name, err }, "service failed");
        }
        resolveStop();
      },
    );
  });

  await stopRequested;
  const timedOut: string[] = [];
  for (let i = services.length - 1; i >= 0; i--) {
    const s = services[i]!;
    controllers[i]!.abort();
    const ac = new AbortController();
    const outcome = await Promise.race([
      runs[i]!.then(() => "done" as const),
      sleep(opts.drainTimeoutMs, "timeout" as const, { signal: ac.signal }).catch(
        () => "done" as const,
      ),
    ]);
    ac.abort();
    if (outcome === "timeout") {
      timedOut.push(s.name);
      log.error(
        { component: "lifecycle", service: s.name, drainTimeoutMs: opts.drainTimeoutMs },
        "service did not drain in time",
      );
    } else {
      log.info({ component: "lifecycle", service: s.name }, "service stopped");
    }
  }
  return { failed, timedOut };
}

/**
 * An AbortSignal that aborts on the first SIGTERM or SIGINT. A second signal
 * while draining forces exit with code 130 (the operator insisted).
 */
export function signalOnTermination(log: Logger, exit: (code: number) => void): AbortSignal {
  const ctl = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ctl.signal.aborted) {
      log.warn({ component: "lifecycle", signal: sig }, "second signal: exiting now");
      exit(130);
      return;
    }
    log.info({ component: "lifecycle", signal: sig }, "signal received: draining");
    ctl.abort();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return ctl.signal;
}
