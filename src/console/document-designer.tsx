import type { ApiResult } from "./api-client.js";
import type { FormBody } from "./context.js";
import { field } from "./context.js";
import { FieldError, invalid } from "./layout.js";
import type { SourceColumn, SourceRelation } from "./source-catalog.js";

/*
 * The job form's document designer: a textarea holding the job's `document`
 * spec as JSON (empty = no spec: the columns as today), the catalog beside it
 * (the table's columns, the tables it references and that reference it, each
 * with a ready `on`), and the preview the API computes for the form
 * (POST /typesense/sync-jobs/preview), rendered here. Everything is plain
 * HTML forms: the Preview button posts the same form to the preview page.
 */

/** How many sample documents the console asks for. */
export const PREVIEW_LIMIT = 5;

/** The textarea's text and, when it holds JSON, the parsed spec (null: empty = no spec). */
export interface DocumentDraft {
  text: string;
  spec: unknown;
  /** Set when the text is not JSON (the API is not called then). */
  error?: string;
}

/** The `document` textarea of a posted form. */
export function documentFromForm(form: FormBody): DocumentDraft {
  return documentFromText(field(form, "document"));
}

export function documentFromText(text: string): DocumentDraft {
  if (text.trim() === "") return { text: "", spec: null };
  try {
    return { text, spec: JSON.parse(text) as unknown };
  } catch (e) {
    return { text, spec: null, error: `not valid JSON: ${(e as Error).message}` };
  }
}

/** The editor's text of a stored spec (null or absent: empty). */
export function documentText(spec: unknown): string {
  return spec === null || spec === undefined ? "" : JSON.stringify(spec, null, 2);
}

/**
 * The `document` part of a create or patch body. Nothing is sent when there
 * is no spec and none is stored, so a job without a spec is written exactly
 * as before; an emptied editor on a job that has one removes it (null).
 */
export function documentBody(d: DocumentDraft, stored: unknown = null): Record<string, unknown> {
  if (d.spec !== null) return { document: d.spec };
  return stored === null || stored === undefined ? {} : { document: null };
}

/** What the API answered for a preview (data of POST /typesense/sync-jobs/preview). */
export interface PreviewData {
  schema: {
    name: string;
    fields: Record<string, unknown>[];
    [option: string]: unknown;
  };
  documents: Record<string, unknown>[];
  warnings: { kind: string; message: string; field?: string; document_id?: string }[];
}

export interface DesignProps {
  document: DocumentDraft;
  /** The table the spec is about (`schema.table`). */
  table: string;
  columns: SourceColumn[];
  relations: SourceRelation[];
  /** The preview of the posted form, when the operator asked for one. */
  preview?: ApiResult<PreviewData> | undefined;
}

/** `schema.table` -> `table`: a relation's default name in a spec. */
const shortName = (table: string) => table.slice(table.indexOf(".") + 1);

/**
 * A first spec from the catalog, to paste and trim: every root column but the
 * id column as a field, each table it references as a lookup (its other
 * columns as `<table>_<column>`, so names stay unique), each table that
 * references it as a child in `arrays` shape (its other columns, flattened as
 * `<child>_<column>`); columns named "id" are left out (the document id's
 * name). Not checked here: Preview says what does not fit.
 */
export function starterSpec(
  columns: readonly SourceColumn[],
  relations: readonly SourceRelation[],
  idColumn: string,
): Record<string, unknown> {
  const field = (name: string, column: string) => ({ name, column });
  // "id" is the document id, never a field name (a child's own id is left out too)
  const others = (r: SourceRelation) =>
    r.columns.filter((c) => c !== "id" && !Object.values(r.on).includes(c));
  const spec: Record<string, unknown> = {
    fields: columns
      .filter((c) => c.name !== idColumn && c.name !== "id")
      .map((c) => field(c.name, c.name)),
  };
  const lookups = relations
    .filter((r) => r.kind === "lookup")
    .map((r) => ({
      name: shortName(r.table),
      table: r.table,
      on: r.on,
      fields: others(r).map((c) => field(`${shortName(r.table)}_${c}`, c)),
    }))
    .filter((l) => l.fields.length > 0);
  const children = relations
    .filter((r) => r.kind === "child")
    .map((r) => ({
      name: shortName(r.table),
      table: r.table,
      on: r.on,
      shape: "arrays",
      fields: others(r).map((c) => field(c, c)),
    }))
    .filter((c) => c.fields.length > 0);
  if (lookups.length > 0) spec.lookups = lookups;
  if (children.length > 0) spec.children = children;
  return spec;
}

/** The textarea and the catalog pickers beside it. */
export function DocumentEditor(
  p: DesignProps & { errors: Record<string, string>; idColumn: string },
) {
  const lookups = p.relations.filter((r) => r.kind === "lookup");
  const children = p.relations.filter((r) => r.kind === "child");
  return (
    <fieldset {...invalid("document", p.errors)}>
      <legend>Document design (optional)</legend>
      <div class="grid2">
        <div>
          <label for="document">Document spec (JSON)</label>
          <textarea
            id="document"
            name="document"
            rows={18}
            class="mono spec"
            spellcheck={false}
            placeholder='{"fields": [...], "filter": "...", "lookups": [...], "children": [...]}'
            {...invalid("document", p.errors)}
          >
            {p.document.text}
          </textarea>
          <FieldError name="document" errors={p.errors} />
          <p class="hint">
            Empty: the document is the columns chosen above. Keys: fields (column or sql, facet,
            sort, ...), filter, lookups, children, collection; see docs/documents.md. Preview shows
            the schema and the first {PREVIEW_LIMIT} documents without saving anything.
          </p>
        </div>
        <aside class="catalog" aria-label="Catalog of the source table">
          <h3>Columns of {p.table}</h3>
          <ul class="plain mono">
            {p.columns.map((c) => (
              <li>
                {c.name} <span class="muted">{c.typeName}</span>
              </li>
            ))}
          </ul>
          <h3>Lookups (tables it references)</h3>
          <RelationList relations={lookups} none="No foreign keys from this table." />
          <h3>Children (tables that reference it)</h3>
          <RelationList relations={children} none="No foreign keys to this table." />
          <details class="starter">
            <summary>Starter spec from the catalog</summary>
            <p class="hint">
              Every column, each lookup and each child above; paste it into the editor, trim it, and
              Preview.
            </p>
            <pre class="mono doc">
              {JSON.stringify(starterSpec(p.columns, p.relations, p.idColumn), null, 2)}
            </pre>
          </details>
        </aside>
      </div>
    </fieldset>
  );
}

/** Each relation with a spec fragment to paste (name, table, on) and the other table's columns. */
function RelationList({ relations, none }: { relations: SourceRelation[]; none: string }) {
  if (relations.length === 0) return <p class="hint">{none}</p>;
  return (
    <ul class="plain relations">
      {relations.map((r) => (
        <li>
          <code>{`{"name": "${r.table.split(".")[1] ?? r.table}", "table": "${r.table}", "on": ${JSON.stringify(r.on)}, "fields": [...]}`}</code>
          <br />
          <span class="muted">
            {r.constraint}; columns: {r.columns.join(", ")}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** The preview under the form: warnings, the collection schema, the sample documents. */
export function PreviewPanel({ preview }: { preview: ApiResult<PreviewData> | undefined }) {
  if (!preview?.ok) return null;
  const { schema, documents, warnings } = preview.data;
  const { fields, name: _name, ...options } = schema;
  return (
    <section class="card preview" id="preview" aria-labelledby="preview-h">
      <h2 id="preview-h">Preview of collection {schema.name}</h2>
      {warnings.length > 0 ? (
        <ul class="warnings" role="status">
          {warnings.map((w) => (
            <li class="flash error">
              <strong>{w.kind.replaceAll("_", " ")}</strong>: {w.message}
            </li>
          ))}
        </ul>
      ) : (
        <p class="hint">No warnings.</p>
      )}
      <div class="scroll">
        <table>
          <caption>Schema: {fields.length} fields</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Type</th>
              <th scope="col">Options</th>
            </tr>
          </thead>
          <tbody>
            {fields.map(({ name, type, ...opts }) => (
              <tr>
                <td class="mono">{String(name)}</td>
                <td class="mono">{String(type)}</td>
                <td class="mono">{Object.keys(opts).length > 0 ? JSON.stringify(opts) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {Object.keys(options).length > 0 ? (
        <p class="mono">Collection options: {JSON.stringify(options)}</p>
      ) : null}
      <h3>
        {documents.length} sample document{documents.length === 1 ? "" : "s"}
      </h3>
      {documents.map((d) => (
        <pre class="mono doc">{JSON.stringify(d, null, 2)}</pre>
      ))}
    </section>
  );
}
