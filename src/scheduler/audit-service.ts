import type { AuditRunner } from "../fullsync/audit-run.js";
import type { Logger, Service } from "../lifecycle/index.js";
import { sleepUnlessAborted } from "../lifecycle/index.js";

export interface AuditServiceOptions {
  runner: AuditRunner;
  log: Logger;
  /** How often due and requested audits are looked for (typesense.sync_worker_poll_ms). */
  pollMs: number;
  /** How long a job whose audit was released (may not run here) is skipped, ms. Default 10 × pollMs. */
  releasedSkipMs?: number;
  now?: () => number;
}

export interface AuditService extends Service {
  /** An audit was queued on this instance (the HTTP route): look at once. */
  auditRequested(): void;
}

/**
 * The drift-audit loop (docs/audit.md): one audit at a time per instance (an
 * audit reads the whole table and collection; running several at once would
 * compete with the syncs for the same source and Typesense), then at once the
 * next; when none is due, it sleeps a poll interval or until woken. Jobs whose
 * audit this instance released are skipped for a while, so another instance
 * (the CDC leader) can claim it. A stop aborts the audit in flight at its next
 * page (it is then taken over when its claim expires).
 */
export function createAuditService(opts: AuditServiceOptions): AuditService {
  const log = opts.log.child({ component: "audit-service" });
  const now = opts.now ?? Date.now;
  const skip = new Map<string, number>();
  let wake: () => void = () => {};
  return {
    name: "audit-service",
    auditRequested() {
      wake();
    },
    async run(signal) {
      while (!signal.aborted) {
        const woken = new Promise<void>((r) => {
          wake = r;
        });
        let ran = false;
        try {
          const t = now();
          for (const [id, until] of skip) if (until <= t) skip.delete(id);
          const audit = await opts.runner.runNext([...skip.keys()], signal);
          if (audit?.released) {
            skip.set(audit.jobId, t + (opts.releasedSkipMs ?? 10 * opts.pollMs));
          }
          ran = audit !== null;
        } catch (err) {
          log.warn({ err }, "could not look for due audits; retrying at the next tick");
        }
        if (ran) continue;
        const ac = new AbortController();
        const onAbort = () => ac.abort();
        signal.addEventListener("abort", onAbort, { once: true });
        await Promise.race([sleepUnlessAborted(opts.pollMs, ac.signal), woken]);
        signal.removeEventListener("abort", onAbort);
        ac.abort();
      }
    },
  };
}
