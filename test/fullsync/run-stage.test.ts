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
    expect(() => next("windows", "manifest")).toThrow(/windows has no transition on manifest/);
  });
});
