import type { StreamStatus } from "./stream-store.js";

/**
 * The status of a CDC stream as stored in typesense_cdc_streams.status.
 *
 *   setup (each session):
 *     (any) ── slot_recreated ───────────────> lost     (setup goes on: set_up follows)
 *     (any) ── set_up, a job streamed ───────> starting
 *     (any) ── set_up, no job streamed ──────> error
 *
 *   streaming:
 *   ┌──────────┐ connected ┌───────────┐ disconnected / typesense_down ┌─────────┐
 *   │ starting │──────────>│ streaming │──────────────────────────────>│ backoff │
 *   └──────────┘           └───────────┘<──────────────────────────────└─────────┘
 *                              connected (unless Typesense is down) /
 *                              typesense_up / job_parked
 *
 *   (any) ── session_failed ──> lost when the slot was lost, else error
 *                                (the stream sets up again after a delay)
 *   (any) ── stop ────────────> stopped (terminal: later events are ignored)
 *
 * `typesenseDown` is kept beside the status: while Typesense is unavailable a
 * reconnected source does not make the stream "streaming" (its writes still
 * wait). Parking the failing job ends the wait (the stream goes on without it).
 *
 * `next` is pure. It returns `state` itself when the event does not apply
 * (nothing to write); any other result is written to the stream's row, with
 * the event's error message when it has one.
 */
export interface StreamState {
  readonly status: StreamStatus;
  readonly typesenseDown: boolean;
}

export type StreamEvent =
  /** setup recreated a lost slot (every job is resynced) */
  | { kind: "slot_recreated" }
  /** setup finished; `streamed`: at least one job was accepted */
  | { kind: "set_up"; streamed: boolean }
  /** the replication connection streams */
  | { kind: "connected" }
  /** the replication connection failed; the source reconnects by itself */
  | { kind: "disconnected" }
  /** Typesense writes fail and are retried (no ack, lag grows) */
  | { kind: "typesense_down" }
  | { kind: "typesense_up" }
  /** the job whose writes kept failing was parked: the others go on */
  | { kind: "job_parked" }
  /** the session failed (setup or streaming); the stream sets up again after a delay */
  | { kind: "session_failed"; slotLost: boolean }
  | { kind: "stop" };

export const INITIAL_STREAM_STATE: StreamState = { status: "starting", typesenseDown: false };

export function next(state: StreamState, ev: StreamEvent): StreamState {
  if (state.status === "stopped") return state;
  switch (ev.kind) {
    case "slot_recreated":
      return { status: "lost", typesenseDown: false };
    case "set_up":
      return { status: ev.streamed ? "starting" : "error", typesenseDown: false };
    case "connected":
      return state.typesenseDown ? state : { status: "streaming", typesenseDown: false };
    case "disconnected":
      return { status: "backoff", typesenseDown: state.typesenseDown };
    case "typesense_down":
      return { status: "backoff", typesenseDown: true };
    case "typesense_up":
    case "job_parked":
      return { status: "streaming", typesenseDown: false };
    case "session_failed":
      return { status: ev.slotLost ? "lost" : "error", typesenseDown: false };
    case "stop":
      return { status: "stopped", typesenseDown: false };
  }
}
