import { describe, expect, it } from "vitest";
import type { RunStage } from "../../src/db/repositories/runs.js";
import { InvalidStageTransition, next, type RunStageEvent } from "../../src/fullsync/run-stage.js";

describe("run-stage machine", () => {
  it("walks a fresh successful run queued -> manifest -> windows -> orphan_sweep -> finished", () => {
    let s: RunStage = "queued";
    const seen: RunStage[] = [s];
    for (const e of ["manifest", "windows", "sweep", "finish"] as RunStageEvent[]) {
      s = next(s, e);
      seen.push(s);
    }
    expect(seen).toEqual(["queued", "manifest", "windows", "orphan_sweep", "finished"]);
  });

  it("lets a resumed run re-enter the stage it crashed in", () => {
    expect(next("windows", "windows")).toBe("windows");
    expect(next("orphan_sweep", "sweep")).toBe("orphan_sweep");
    expect(next("rollback", "fail")).toBe("rollback");
    expect(next("manifest", "manifest")).toBe("manifest");
  });

  it("rebuilds the manifest of a run killed in windows before its first chunk committed", () => {
    // the windows start while the first chunk is built: such a run resumes in
    // windows with no manifest, and its fresh build enters manifest again
    expect(next("windows", "manifest")).toBe("manifest");
    expect(next(next("windows", "manifest"), "windows")).toBe("windows");
  });

  it("walks a failed attempt through rollback, and a resumed rollback re-enters it", () => {
    const walk = (from: RunStage, events: RunStageEvent[]) => {
      const seen = [from];
      for (const e of events) seen.push(next(seen[seen.length - 1]!, e));
      return seen;
    };
    expect(walk("queued", ["manifest", "windows", "fail", "finish"])).toEqual([
      "queued",
      "manifest",
      "windows",
      "rollback",
      "finished",
    ]);
    // a run that failed before it wrote anything (describe, collection type conflict)
    expect(walk("queued", ["fail", "finish"])).toEqual(["queued", "rollback", "finished"]);
    expect(walk("rollback", ["fail", "finish"])).toEqual(["rollback", "rollback", "finished"]);
  });

  it("sweeps straight after an empty manifest (no windows stage)", () => {
    expect(next("manifest", "sweep")).toBe("orphan_sweep");
  });

  it("rolls back from any open write stage and finishes from rollback", () => {
    for (const s of ["manifest", "windows", "orphan_sweep"] as RunStage[]) {
      expect(next(s, "fail")).toBe("rollback");
    }
    expect(next("rollback", "finish")).toBe("finished");
  });

  it("never leaves finished and never goes back from the sweep or rollback", () => {
    for (const e of ["manifest", "windows", "sweep", "fail", "finish"] as RunStageEvent[]) {
      expect(() => next("finished", e)).toThrow(InvalidStageTransition);
    }
    expect(() => next("orphan_sweep", "windows")).toThrow(InvalidStageTransition);
    expect(() => next("rollback", "windows")).toThrow(InvalidStageTransition);
    expect(() => next("rollback", "sweep")).toThrow(InvalidStageTransition);
    expect(() => next("orphan_sweep", "manifest")).toThrow(InvalidStageTransition);
    expect(() => next("rollback", "manifest")).toThrow(/rollback has no transition on manifest/);
  });
});
