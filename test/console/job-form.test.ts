import { describe, expect, it } from "vitest";
import {
  blankDraft,
  CREATE_ONLY_FIELDS,
  DRAFT_FIELDS,
  type JobDraft,
  jobBody,
} from "../../src/console/job-form.js";
import { emptyDraft } from "../../src/console/job-new.js";
import { JOB_FIELDS, jobFieldKind } from "../../src/db/repositories/job-schema.js";

/*
 * The console's job lists come from job-schema.ts (issue 14 item 4): the
 * draft, the API body and the hidden create-only inputs are derived from
 * DRAFT_FIELDS and jobFieldKind, so a field added to the schema reaches the
 * form's body without another hand-written list.
 */
const filled = (): JobDraft => {
  const d = blankDraft();
  for (const k of DRAFT_FIELDS) {
    const kind = jobFieldKind(k);
    (d as Record<string, unknown>)[k] =
      kind === "list" ? [`${k}_x`] : kind === "flag" ? true : kind === "number" ? "7" : `${k}_v`;
  }
  return d;
};

describe("console job form lists", () => {
  it("the draft holds every job field but window_size and document (its own JSON editor), each blank by its kind", () => {
    // document: document-designer.tsx (documentBody), tested in job-designer.pg.test.ts
    expect(DRAFT_FIELDS).toEqual(JOB_FIELDS.filter((f) => f !== "window_size" && f !== "document"));
    const d = blankDraft();
    expect(Object.keys(d)).toEqual(DRAFT_FIELDS);
    expect(d.included_columns).toEqual([]);
    expect(d.cdc_enabled).toBe(false);
    expect(d.sync_interval_seconds).toBe("");
  });

  it("a create body carries every draft field; numbers as numbers", () => {
    const body = jobBody(filled(), "create");
    expect(Object.keys(body).sort()).toEqual([...DRAFT_FIELDS].sort());
    expect(body.sync_interval_seconds).toBe(7);
    expect(body.queryable_fields).toEqual(["queryable_fields_x"]);
  });

  it("an edit body leaves out exactly the create-only fields", () => {
    const body = jobBody(filled(), "edit");
    const expected = DRAFT_FIELDS.filter(
      (f) => !(CREATE_ONLY_FIELDS as readonly string[]).includes(f),
    );
    expect(Object.keys(body).sort()).toEqual(expected.sort());
  });

  it("an empty number is left out (the table's default applies); a non-number is sent as typed", () => {
    const d = filled();
    d.sync_interval_seconds = "";
    d.stale_after_seconds = "soon";
    const body = jobBody(d, "create");
    expect("sync_interval_seconds" in body).toBe(false);
    expect(body.stale_after_seconds).toBe("soon");
  });

  it("a new job's draft takes the step-1 choices from the query and the console's suggestions", () => {
    const d = emptyDraft({ profile_id: "p1", source_client_name: "c", source_table_name: "items" });
    expect(d.profile_id).toBe("p1");
    expect(d.source_schema_name).toBe("");
    expect(d.collection_name).toBe("items");
    expect([d.sync_interval_seconds, d.stale_after_seconds, d.enabled]).toEqual([
      "300",
      "900",
      true,
    ]);
  });
});
