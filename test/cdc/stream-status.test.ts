import { describe, expect, it } from "vitest";
import {
  INITIAL_STREAM_STATE,
  next,
  type StreamEvent,
  type StreamState,
} from "../../src/cdc/stream-status.js";

const run = (events: StreamEvent[], from: StreamState = INITIAL_STREAM_STATE) =>
  events.reduce(next, from);

describe("stream status machine", () => {
  it("goes starting -> streaming when a set-up session connects", () => {
    const s = run([{ kind: "set_up", streamed: true }, { kind: "connected" }]);
    expect(s.status).toBe("streaming");
  });

  it("is error after a setup that streams no job", () => {
    expect(run([{ kind: "set_up", streamed: false }]).status).toBe("error");
  });

  it("shows a recreated slot as lost until setup finishes", () => {
    const lost = run([{ kind: "slot_recreated" }]);
    expect(lost.status).toBe("lost");
    expect(next(lost, { kind: "set_up", streamed: true }).status).toBe("starting");
  });

  it("backs off on a lost connection and streams again on reconnect", () => {
    const s = run([{ kind: "connected" }, { kind: "disconnected" }]);
    expect(s.status).toBe("backoff");
    expect(next(s, { kind: "connected" }).status).toBe("streaming");
  });

  it("stays in backoff while Typesense is down, even when the source reconnects", () => {
    const down = run([{ kind: "connected" }, { kind: "typesense_down" }]);
    expect(down).toEqual({ status: "backoff", typesenseDown: true });
    // the event does not apply: the same state comes back (nothing is written)
    expect(next(down, { kind: "connected" })).toBe(down);
    expect(next(down, { kind: "disconnected" }).typesenseDown).toBe(true);
    expect(next(down, { kind: "typesense_up" }).status).toBe("streaming");
  });

  it("streams again once the failing job is parked", () => {
    const s = run([{ kind: "connected" }, { kind: "typesense_down" }, { kind: "job_parked" }]);
    expect(s).toEqual({ status: "streaming", typesenseDown: false });
  });

  it("records a failed session as lost or error, and a new setup clears Typesense down", () => {
    const down = run([{ kind: "connected" }, { kind: "typesense_down" }]);
    expect(next(down, { kind: "session_failed", slotLost: true }).status).toBe("lost");
    const failed = next(down, { kind: "session_failed", slotLost: false });
    expect(failed).toEqual({ status: "error", typesenseDown: false });
    expect(run([{ kind: "set_up", streamed: true }, { kind: "connected" }], failed).status).toBe(
      "streaming",
    );
  });

  it("ignores every event once stopped", () => {
    const stopped = run([{ kind: "connected" }, { kind: "stop" }]);
    expect(stopped.status).toBe("stopped");
    for (const ev of [
      { kind: "connected" },
      { kind: "typesense_down" },
      { kind: "session_failed", slotLost: false },
    ] as StreamEvent[]) {
      expect(next(stopped, ev)).toBe(stopped);
    }
  });
});
