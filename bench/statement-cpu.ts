import { readFileSync } from "node:fs";
import type pg from "pg";

/**
 * Postgres CPU per phase of a full sync (issue 18 point 3), measured from the
 * sidecar's side: every pooled connection's backend pid is known
 * (client.processID), and a backend runs one statement at a time, so the CPU
 * the backend used between the end of its previous statement and the end of
 * this one (/proc/<pid>/stat utime + stime, 10 ms ticks) is this statement's.
 * Each statement is put in a phase by its text (classify). Tick sampling is
 * coarse per statement (a window's COPY is a few ms) but unbiased over
 * thousands of statements. Linux only; Postgres on the same host.
 */
export type Phase =
  | "manifest build (source COPY)"
  | "manifest build (control chunks)"
  | "manifest reads"
  | "window reads (rendered COPY)"
  | "window reads (JS path)"
  | "checkpoints"
  | "saga marker"
  | "other";

/** Which phase a statement belongs to, by its text (the statements of src/db and src/documents). */
export function classify(side: "control" | "source", text: string): Phase {
  if (side === "source") {
    // the manifest's id COPY (ids in id order; before dfa370b with row_number())
    if (/is not null.*order by/s.test(text) && !text.includes("format binary"))
      return "manifest build (source COPY)";
    if (text.includes("format binary")) return "window reads (rendered COPY)";
    if (/^\s*copy|between/i.test(text)) return "window reads (JS path)";
    return "other";
  }
  if (text.includes("json_agg(doc_id")) return "manifest reads";
  if (text.includes("typesense_dead_letters") && text.includes("lease_expires_at"))
    return "checkpoints";
  if (text.includes("upto_seq")) return "saga marker";
  if (
    /tsm_|typesense_sync_manifest_|manifest_complete|ids so far|from stdin|^\s*(begin|commit)\s*$/i.test(
      text,
    )
  )
    return "manifest build (control chunks)";
  return "other";
}

function backendTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return Number.NaN; // the backend exited
  }
}

/** CPU ms per phase, summed over the backends of the instrumented pools. */
export function createStatementCpu() {
  const byPhase = new Map<Phase, number>();
  const statements = new Map<Phase, number>();
  const add = (phase: Phase, ticks: number) => {
    if (!Number.isFinite(ticks) || ticks < 0) return;
    byPhase.set(phase, (byPhase.get(phase) ?? 0) + ticks * 10);
    statements.set(phase, (statements.get(phase) ?? 0) + 1);
  };
  /** Wraps every client of `pool` (call before the pool connects). */
  const instrument = (pool: pg.Pool, side: "control" | "source") => {
    pool.on("connect", (client) => {
      const pid = (client as unknown as { processID: number }).processID;
      let last = backendTicks(pid);
      const settle = (phase: Phase) => {
        const now = backendTicks(pid);
        add(phase, now - last);
        last = now;
      };
      const query = client.query.bind(client) as (...a: unknown[]) => unknown;
      // biome-ignore lint/suspicious/noExplicitAny: wraps pg's overloaded query()
      (client as any).query = (...args: unknown[]) => {
        const cfg = args[0] as string | { text?: string };
        const text = typeof cfg === "string" ? cfg : (cfg?.text ?? "");
        const phase = classify(side, text);
        // pool.query() passes a callback: settle when it is called
        const cb = args[args.length - 1];
        if (typeof cb === "function") {
          args[args.length - 1] = (...res: unknown[]) => {
            settle(phase);
            return cb(...res);
          };
          return query(...args);
        }
        const r = query(...args) as {
          then?: unknown;
          once?: (e: string, f: () => void) => void;
        };
        if (r && typeof r.then === "function") {
          (r as Promise<unknown>).then(
            () => settle(phase),
            () => settle(phase),
          );
        } else if (r && typeof r.once === "function") {
          // a COPY stream: done when it ends (to) or finishes (from), or fails
          let done = false;
          const end = () => {
            if (done) return;
            done = true;
            settle(phase);
          };
          for (const e of ["end", "finish", "error", "close"]) r.once(e, end);
        }
        return r;
      };
    });
  };
  const report = () =>
    [...byPhase.entries()].map(([phase, ms]) => ({
      phase,
      ms,
      statements: statements.get(phase)!,
    }));
  return { instrument, report };
}
