/**
 * A child controller aborted with any of `parents`, and `unlink` to drop its
 * listeners once the child's work is over (a long-lived parent outlives many
 * children; AbortSignal.any would keep every dependant alive on it).
 * Undefined parents are skipped.
 *
 * A parent that is ALREADY aborted aborts the child at once: a listener added
 * after the abort never fires, which is how a stream stopped during its setup
 * used to stream on and never return.
 */
export function linkedAbort(...parents: (AbortSignal | undefined)[]): {
  ctl: AbortController;
  unlink: () => void;
} {
  const ctl = new AbortController();
  const stop = () => ctl.abort();
  const linked: AbortSignal[] = [];
  for (const parent of parents) {
    if (!parent) continue;
    if (parent.aborted) ctl.abort();
    else {
      parent.addEventListener("abort", stop, { once: true });
      linked.push(parent);
    }
  }
  return {
    ctl,
    unlink: () => {
      for (const parent of linked) parent.removeEventListener("abort", stop);
    },
  };
}
