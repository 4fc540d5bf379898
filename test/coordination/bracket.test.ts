import { describe, expect, it, vi } from "vitest";
import { closeBracket, openBracket } from "../../src/coordination/bracket.js";
import { StreamStoppedError } from "../../src/coordination/errors.js";
import {
  createWatermarkRegistry,
  type WatermarkRegistry,
  type WatermarkStreamHandle,
} from "../../src/coordination/watermarks.js";
import type { Document } from "../../src/typesense/types.js";
import { silentLogger } from "../support/log.js";

/*
 * The bracket protocol without Postgres: a real registry, and stream handles
 * whose emit plays the stream reaching the watermark (or stopping before it).
 */

const JOB = "job-1";
const doc = (id: string, v = 1): Document => ({ id, v });
const docsOf = (...ds: Document[]) => new Map(ds.map((d) => [d.id, d]));

/** A stream of JOB; `onEmit` decides what happens when a watermark is emitted. */
function stream(
  registry: WatermarkRegistry,
  onEmit: (content: string) => void,
): { handle: WatermarkStreamHandle; detach: () => void } {
  const handle: WatermarkStreamHandle = {
    jobIds: new Set([JOB]),
    emit: async (_prefix, content) => onEmit(content),
  };
  const detach = registry.attach(handle);
  return { handle, detach };
}

/** The stream reaches the watermark and writes every survivor. */
function writeAtWatermark(registry: WatermarkRegistry, content: string): void {
  const due = registry.due(content);
  due?.finish({ written: [...due.docs.map((d) => d.id), ...due.deletes], rejections: [] });
}

function scope(registry: WatermarkRegistry | undefined, signal?: AbortSignal) {
  return { watermarks: registry, job: { id: JOB }, log: silentLogger(), signal };
}

describe("coordination bracket", () => {
  it("is not opened when the job does not stream here: the caller writes directly", () => {
    const registry = createWatermarkRegistry();
    expect(openBracket(scope(undefined), ["a"])).toBeNull();
    expect(openBracket(scope(registry), ["a"])).toBeNull();
  });

  it("the stream writes the survivors at the watermark; an id it changed after the open is superseded", async () => {
    const registry = createWatermarkRegistry();
    stream(registry, (c) => writeAtWatermark(registry, c));
    const w = openBracket(scope(registry), ["a", "b", "gone"])!;
    registry.observe(JOB, "b"); // the stream changed b after (1)
    const { outcome, deletes } = await closeBracket(scope(registry), w, {
      docs: docsOf(doc("a"), doc("b")),
      deletes: ["gone"],
    });
    expect(outcome.written.sort()).toEqual(["a", "gone"]);
    expect(outcome.superseded).toEqual(["b"]);
    expect([...deletes]).toEqual(["gone"]);
  });

  it("a stream that stops before the watermark while another is back: the ids are registered again, re-read, written by the new stream", async () => {
    const registry = createWatermarkRegistry();
    const first = stream(registry, () => {
      first.detach(); // stops before the watermark: the window is rejected
      stream(registry, (c) => writeAtWatermark(registry, c)); // a stream is back
    });
    const w = openBracket(scope(registry), ["a", "gone", "back"])!;
    const reread = vi.fn(async (ids: string[]) => {
      // the ids are registered again BEFORE the read: a change of "a" the
      // stream delivers during the read supersedes it
      registry.observe(JOB, "a");
      expect(ids.sort()).toEqual(["a", "back", "gone"]);
      return { documents: docsOf(doc("a", 2), doc("back")), missing: ["gone"] };
    });
    const { outcome, deletes } = await closeBracket(
      scope(registry),
      w,
      { docs: docsOf(doc("a")), deletes: ["gone", "back"] },
      reread,
    );
    expect(reread).toHaveBeenCalledTimes(1);
    // "back" has a row again: it is upserted, no longer deleted
    expect([...deletes]).toEqual(["gone"]);
    expect(outcome.written.sort()).toEqual(["back", "gone"]);
    expect(outcome.superseded).toEqual(["a"]);
  });

  it("a stream that stops before the watermark with none back: StreamStoppedError, never a direct write", async () => {
    const registry = createWatermarkRegistry();
    const s = stream(registry, () => s.detach());
    const w = openBracket(scope(registry), ["a"])!;
    const reread = vi.fn();
    await expect(
      closeBracket(scope(registry), w, { docs: docsOf(doc("a")), deletes: [] }, reread),
    ).rejects.toBeInstanceOf(StreamStoppedError);
    expect(reread).not.toHaveBeenCalled();
  });

  it("without a re-read (rollback batches) a stop is StreamStoppedError even when a stream is back", async () => {
    const registry = createWatermarkRegistry();
    const first = stream(registry, () => {
      first.detach();
      stream(registry, (c) => writeAtWatermark(registry, c));
    });
    const w = openBracket(scope(registry), ["a"])!;
    const err = await closeBracket(scope(registry), w, { docs: docsOf(doc("a")), deletes: [] })
      .then(() => null)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamStoppedError);
    expect((err as StreamStoppedError).jobId).toBe(JOB);
  });

  it("an aborted close rethrows the abort, not StreamStoppedError (the lease was lost)", async () => {
    const registry = createWatermarkRegistry();
    stream(registry, () => {}); // never reaches the watermark
    const ac = new AbortController();
    const w = openBracket(scope(registry, ac.signal), ["a"])!;
    const closing = closeBracket(scope(registry, ac.signal), w, {
      docs: docsOf(doc("a")),
      deletes: [],
    });
    ac.abort();
    const err = await closing.then(() => null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(StreamStoppedError);
    expect((err as Error).message).toMatch(/aborted/);
  });
});
