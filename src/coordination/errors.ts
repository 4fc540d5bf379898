import { ServiceError } from "../errors/service-error.js";

/*
 * The interruptions of the full-sync/CDC protocol: a run that waited on a
 * bracket (watermarks.ts) stops, keeps its checkpoint and resumes later. The
 * full-sync engine throws them (fullsync/watermarked.ts, windows-loop.ts,
 * rollback.ts) and treats them as "interrupted", not "failed" (engine.ts).
 */

/**
 * The CDC stream that bracketed a window (or a rollback batch) stopped before
 * the window's watermark and no stream applies the job on this instance now.
 *
 * The run stops here, interrupted: the engine releases its lease and the open
 * run is resumed later at its checkpoint (by this instance once its stream is
 * back, or by the instance that leads the client now). Writing the window
 * directly instead would be unsafe: its rows were read before the stream
 * stopped, and when the leadership moved, the new leader's stream may already
 * have written newer versions that nothing would deliver again.
 */
export class StreamStoppedError extends ServiceError {
  constructor(
    readonly jobId: string,
    cause: unknown,
  ) {
    super(
      "STREAM_STOPPED",
      `the CDC stream of job ${jobId} stopped before a window's watermark; the run stops and resumes at its checkpoint`,
      { cause },
    );
    this.name = "StreamStoppedError";
  }
}

/**
 * The CDC stream attached to the job (this instance streams it now) while a
 * window read WITHOUT a bracket waited to be written: writing it directly
 * could put a row read before a change the stream has just written over that
 * change. The run stops, interrupted, and resumes at its checkpoint with
 * bracketed windows.
 */
export class StreamAttachedError extends ServiceError {
  constructor(readonly jobId: string) {
    super(
      "STREAM_ATTACHED",
      `the CDC stream attached to job ${jobId} under a window read without watermarks; the run stops and resumes bracketed at its checkpoint`,
    );
    this.name = "StreamAttachedError";
  }
}
