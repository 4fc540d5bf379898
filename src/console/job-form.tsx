import {
  JOB_FIELDS,
  type JobField,
  jobFieldKind,
  type JobFields as StoredFields,
} from "../db/repositories/job-schema.js";
import type { ApiResult } from "./api-client.js";
import type { FormBody } from "./context.js";
import { field, fields } from "./context.js";
import { type DesignProps, DocumentEditor, PreviewPanel } from "./document-designer.js";
import { type FieldErrors, fieldErrors } from "./form-errors.js";
import { Csrf, FieldError, invalid } from "./layout.js";
import type { Session } from "./session.js";
import type { SourceColumn } from "./source-catalog.js";

/**
 * The fields the job form edits as form controls: all but window_size (set
 * through the API only; the form leaves it out of its body, so an edit keeps
 * it) and document, which has its own JSON editor (document-designer.tsx:
 * sent only when set, or as null when an emptied editor removes a spec).
 */
export type DraftField = Exclude<JobField, "window_size" | "document">;
export const DRAFT_FIELDS = JOB_FIELDS.filter(
  (f): f is DraftField => f !== "window_size" && f !== "document",
);

/** The job form's values as typed (numbers stay text so the API can say what is wrong). */
export type JobDraft = {
  [K in DraftField]: StoredFields[K] extends number ? string : StoredFields[K];
};

/** Reads each draft field from the form by its kind (job-schema.ts jobFieldKind). */
export function draftFromForm(f: FormBody): JobDraft {
  const d: Record<string, unknown> = {};
  for (const k of DRAFT_FIELDS) {
    const kind = jobFieldKind(k);
    d[k] = kind === "list" ? fields(f, k) : kind === "flag" ? field(f, k) === "on" : field(f, k);
  }
  const draft = d as JobDraft;
  draft.source_schema_name ||= "public";
  return draft;
}

/**
 * The fields chosen in step 1 of a new job (backend and source table) and
 * sent only when creating: the edit form never changes them (a retarget is an
 * API call), so it neither shows nor sends them.
 */
export const CREATE_ONLY_FIELDS = [
  "profile_id",
  "source_client_name",
  "source_schema_name",
  "source_table_name",
] as const satisfies readonly DraftField[];
const createOnly: ReadonlySet<DraftField> = new Set(CREATE_ONLY_FIELDS);

/** A draft with every field empty by its kind (job-schema.ts jobFieldKind). */
export function blankDraft(): JobDraft {
  const d: Record<string, unknown> = {};
  for (const k of DRAFT_FIELDS) {
    const kind = jobFieldKind(k);
    d[k] = kind === "list" ? [] : kind === "flag" ? false : "";
  }
  return d as JobDraft;
}

const asNumber = (s: string) => (/^\d+$/.test(s) ? Number(s) : s);

/**
 * The API body: every field the form edits (the create-only ones only when
 * creating). A number left empty is left out, so the table's default applies;
 * one that is not digits is sent as typed, so the API names the field.
 */
export function jobBody(d: JobDraft, mode: "create" | "edit"): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const k of DRAFT_FIELDS) {
    if (mode === "edit" && createOnly.has(k)) continue;
    const v = d[k];
    if (jobFieldKind(k) !== "number") body[k] = v;
    else if (v !== "") body[k] = asNumber(String(v));
  }
  return body;
}

/** Which field a catalog error about `column` belongs next to. */
export function columnFieldOf(d: JobDraft): (column: string) => string {
  return (col) =>
    col === d.document_id_column
      ? "document_id_column"
      : d.queryable_fields.includes(col)
        ? "queryable_fields"
        : "included_columns";
}

/** The API's errors for a job form, next to their fields (zod's wording softened where common). */
export function jobErrors(res: ApiResult, d: JobDraft): FieldErrors {
  const e = fieldErrors(res, columnFieldOf(d));
  if (e.queryable_fields?.startsWith("Too small")) {
    e.queryable_fields = "Choose at least one queryable field.";
  }
  return e;
}

export interface JobFieldsProps {
  session: Session;
  action: string;
  mode: "create" | "edit";
  draft: JobDraft;
  columns: SourceColumn[];
  errors: FieldErrors;
  /** The document designer's editor, catalog and preview (document-designer.tsx). */
  design: DesignProps;
}

/** Step 2 of the job editor: the columns of the chosen table, offered from the catalog. */
export function JobFields(p: JobFieldsProps) {
  const { draft: d, errors } = p;
  const ids = p.columns.filter((c) => c.unique);
  return (
    <form method="post" action={p.action} id="job-fields">
      <Csrf session={p.session} />
      {p.mode === "create"
        ? CREATE_ONLY_FIELDS.map((k) => <input type="hidden" name={k} value={d[k]} />)
        : null}
      <div class="grid2">
        <div>
          <label for="collection_name">Collection name</label>
          <input
            id="collection_name"
            name="collection_name"
            type="text"
            value={d.collection_name}
            required
            {...invalid("collection_name", errors)}
          />
          <FieldError name="collection_name" errors={errors} />
          <label for="document_id_column">Document id column</label>
          <select
            id="document_id_column"
            name="document_id_column"
            {...invalid("document_id_column", errors)}
          >
            {ids.length === 0 ? <option value="">(no unique column)</option> : null}
            {ids.map((c) => (
              <option value={c.name} selected={c.name === d.document_id_column}>
                {c.name}
                {c.primaryKey ? " (primary key)" : " (unique)"}
              </option>
            ))}
          </select>
          <FieldError name="document_id_column" errors={errors} />
          <p class="hint">Only columns with a primary key or unique index are offered.</p>
        </div>
        <div>
          <label for="sync_interval_seconds">Sync interval (seconds)</label>
          <input
            id="sync_interval_seconds"
            name="sync_interval_seconds"
            type="number"
            min="1"
            value={d.sync_interval_seconds}
            {...invalid("sync_interval_seconds", errors)}
          />
          <FieldError name="sync_interval_seconds" errors={errors} />
          <label for="stale_after_seconds">Stale after (seconds)</label>
          <input
            id="stale_after_seconds"
            name="stale_after_seconds"
            type="number"
            min="1"
            value={d.stale_after_seconds}
            {...invalid("stale_after_seconds", errors)}
          />
          <FieldError name="stale_after_seconds" errors={errors} />
          <label class="check">
            <input type="checkbox" name="enabled" checked={d.enabled} /> Enabled
          </label>
          <label class="check">
            <input type="checkbox" name="cdc_enabled" checked={d.cdc_enabled} /> Stream changes
            (CDC)
          </label>
          <label class="check">
            <input
              type="checkbox"
              name="adopt_existing_collection"
              checked={d.adopt_existing_collection}
            />{" "}
            Adopt an existing collection not made by this job (its next run may change and delete
            its documents)
          </label>
        </div>
      </div>
      <fieldset {...invalid("queryable_fields", errors)}>
        <legend>Queryable fields (text columns searched by default)</legend>
        <div class="cols">
          {p.columns
            .filter((c) => c.queryable)
            .map((c) => (
              <label class="check">
                <input
                  type="checkbox"
                  name="queryable_fields"
                  value={c.name}
                  checked={d.queryable_fields.includes(c.name)}
                />
                {c.name} <span class="muted">{c.typeName}</span>
              </label>
            ))}
        </div>
        <FieldError name="queryable_fields" errors={errors} />
      </fieldset>
      <fieldset {...invalid("included_columns", errors)}>
        <legend>Included columns (none checked = all columns)</legend>
        <div class="cols">
          {p.columns.map((c) => (
            <label class="check">
              <input
                type="checkbox"
                name="included_columns"
                value={c.name}
                checked={d.included_columns.includes(c.name)}
              />
              {c.name} <span class="muted">{c.typeName}</span>
            </label>
          ))}
        </div>
        <FieldError name="included_columns" errors={errors} />
      </fieldset>
      <DocumentEditor {...p.design} errors={errors} idColumn={d.document_id_column} />
      <div class="actions">
        <button type="submit">{p.mode === "create" ? "Create sync job" : "Save changes"}</button>
        {/* the same form, posted to the preview page: nothing is saved */}
        <button type="submit" class="secondary" formaction={`${p.action}/preview#preview`}>
          Preview
        </button>
        <a class="button secondary" href="/console/jobs">
          Cancel
        </a>
      </div>
      <PreviewPanel preview={p.design.preview} />
    </form>
  );
}
