/**
 * A child controller aborted with `parent`, and `unlink` to drop its listener
 * once the child's work is over (a long-lived parent outlives many children;
 * AbortSignal.any would keep every dependant alive on it).
 *
 * A parent that is ALREADY aborted aborts the child at once: a listener added
 * after the abort never fires, which is how a stream stopped during its setup
 * used to stream on and never return.
 */
export function linkedAbort(parent: AbortSignal): { ctl: AbortController; unlink: () => void } {
  const ctl = new AbortController();
  const stop = () => ctl.abort();
  if (parent.aborted) ctl.abort();
  else parent.addEventListener("abort", stop, { once: true });
  return { ctl, unlink: () => parent.removeEventListener("abort", stop) };
}
