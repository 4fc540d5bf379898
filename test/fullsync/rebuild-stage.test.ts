import { describe, expect, it } from "vitest";
import {
  InvalidRebuildTransition,
  nextRebuildStage,
  type RebuildEvent,
  type RebuildStage,
  resumeRebuildStage,
  specHash,
  versionCollectionName,
  versionMetadata,
} from "../../src/fullsync/rebuild-stage.js";

const ALL_STAGES: RebuildStage[] = [
  "create",
  "build",
  "verify",
  "swap",
  "keep",
  "drop",
  "discard",
  "done",
  "failed",
];
const ALL_EVENTS: RebuildEvent[] = [
  "created",
  "built",
  "verified",
  "swapped",
  "kept",
  "dropped",
  "fail",
  "discarded",
];

function walk(from: RebuildStage, events: RebuildEvent[]): RebuildStage[] {
  const seen = [from];
  let s = from;
  for (const e of events) {
    s = nextRebuildStage(s, e);
    seen.push(s);
  }
  return seen;
}

describe("rebuild stage machine", () => {
  it("walks a successful rebuild create -> build -> verify -> swap -> keep -> drop -> done", () => {
    expect(walk("create", ["created", "built", "verified", "swapped", "kept", "dropped"])).toEqual([
      "create",
      "build",
      "verify",
      "swap",
      "keep",
      "drop",
      "done",
    ]);
  });

  it("discards the new version on a failure in every step before the swap, and ends failed", () => {
    for (const s of ["create", "build", "verify", "swap"] as RebuildStage[]) {
      expect(walk(s, ["fail", "discarded"])).toEqual([s, "discard", "failed"]);
    }
  });

  it("never discards once the swap happened: keep and drop have no fail edge", () => {
    for (const s of ["keep", "drop"] as RebuildStage[]) {
      expect(() => nextRebuildStage(s, "fail")).toThrow(InvalidRebuildTransition);
    }
  });

  it("lets a resumed run re-enter the step it crashed in (each step idempotent)", () => {
    expect(nextRebuildStage("verify", "built")).toBe("verify");
    expect(nextRebuildStage("swap", "verified")).toBe("swap");
    expect(nextRebuildStage("keep", "swapped")).toBe("keep");
    expect(nextRebuildStage("drop", "kept")).toBe("drop");
    expect(nextRebuildStage("discard", "fail")).toBe("discard");
  });

  it("resumes a run killed between the alias call and its commit in keep, not in swap", () => {
    expect(resumeRebuildStage("swap", { aliasNamesNewVersion: true })).toBe("keep");
    expect(resumeRebuildStage("swap", { aliasNamesNewVersion: false })).toBe("swap");
    expect(resumeRebuildStage("build", { aliasNamesNewVersion: false })).toBe("build");
  });

  it("has no way out of done and failed", () => {
    for (const s of ["done", "failed"] as RebuildStage[]) {
      for (const e of ALL_EVENTS) expect(() => nextRebuildStage(s, e)).toThrow(/no transition/);
    }
  });

  it("has exactly the diagram's edges (no step can be skipped)", () => {
    const edges: string[] = [];
    for (const s of ALL_STAGES) {
      for (const e of ALL_EVENTS) {
        try {
          edges.push(`${s} -${e}-> ${nextRebuildStage(s, e)}`);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidRebuildTransition);
        }
      }
    }
    expect(edges.sort()).toEqual(
      [
        "create -created-> build",
        "create -fail-> discard",
        "build -built-> verify",
        "build -fail-> discard",
        "verify -built-> verify",
        "verify -verified-> swap",
        "verify -fail-> discard",
        "swap -verified-> swap",
        "swap -swapped-> keep",
        "swap -fail-> discard",
        "keep -swapped-> keep",
        "keep -kept-> drop",
        "drop -kept-> drop",
        "drop -dropped-> done",
        "discard -fail-> discard",
        "discard -discarded-> failed",
      ].sort(),
    );
  });

  it("names version N of a collection <alias>__v<N> and refuses a version below 1", () => {
    expect(versionCollectionName("products", 1)).toBe("products__v1");
    expect(versionCollectionName("products", 12)).toBe("products__v12");
    expect(() => versionCollectionName("products", 0)).toThrow(/>= 1/);
    expect(() => versionCollectionName("products", 1.5)).toThrow(/integer/);
  });
});

describe("version metadata", () => {
  const job = {
    id: "j1",
    documentIdColumn: "id",
    includedColumns: ["id", "title"],
    queryableFields: ["title"],
    document: { fields: [{ name: "title", from: "title" }], filter: "price > 0" },
  };
  const mark = { managed_by: "athena-typesense-sync", job_id: "j1" };

  it("names the product, the job, the version and the spec hash", () => {
    const m = versionMetadata(job, 3, mark);
    expect(m).toEqual({ ...mark, version: 3, spec_hash: specHash(job) });
    expect(m.spec_hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it("hashes equal shapes equal whatever the key order, and a changed spec differently", () => {
    const reordered = { ...job, document: { filter: "price > 0", fields: job.document.fields } };
    expect(specHash(reordered)).toBe(specHash(job));
    const changed = { ...job, document: { ...job.document, filter: "price > 1" } };
    expect(specHash(changed)).not.toBe(specHash(job));
    expect(specHash({ ...job, queryableFields: ["title", "body"] })).not.toBe(specHash(job));
  });

  it("refuses a version below 1", () => {
    expect(() => versionMetadata(job, 0, mark)).toThrow(/>= 1/);
  });
});
