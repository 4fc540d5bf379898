/**
 * One setInterval per period for every CDC stream in the process, instead of one per
 * stream and timer: with 20 source clients the 50 ms flush timers alone were 400 wake-ups
 * a second of an idle instance (bench/many-jobs.ts), now 20. Each subscriber still runs
 * once per period (its first run comes within one period of subscribing, not exactly one
 * period after); what it does, and whether it skips a tick while its last run is still
 * going, is its own business (stream-session.ts #every).
 */
interface Group {
  timer: NodeJS.Timeout;
  subscribers: Set<{ fn: () => void }>;
}

const groups = new Map<number, Group>();

/** Runs `fn` every `ms` on the process's shared interval of that period; returns the stop. */
export function everyShared(ms: number, fn: () => void): () => void {
  let g = groups.get(ms);
  if (!g) {
    const subscribers = new Set<{ fn: () => void }>();
    const timer = setInterval(() => {
      // a copy: a subscriber may stop itself or another one from its tick
      for (const s of [...subscribers]) {
        try {
          s.fn();
        } catch {
          // one subscriber's throw must not skip the others' ticks (theirs catch their own)
        }
      }
    }, ms);
    g = { timer, subscribers };
    groups.set(ms, g);
  }
  const group = g;
  const entry = { fn };
  group.subscribers.add(entry);
  return () => {
    if (!group.subscribers.delete(entry)) return;
    if (group.subscribers.size === 0 && groups.get(ms) === group) {
      clearInterval(group.timer);
      groups.delete(ms);
    }
  };
}

/** Test view: subscribers per period of the shared intervals running now. */
export function sharedIntervals(): Map<number, number> {
  return new Map([...groups].map(([ms, g]) => [ms, g.subscribers.size]));
}
