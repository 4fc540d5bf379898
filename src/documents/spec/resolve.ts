import type pg from "pg";
import type { ColumnInfo, TableInfo } from "../../catalog/index.js";
import {
  DocumentSpec,
  type DocumentSpecInput,
  type SpecField,
} from "../../db/repositories/document-spec.js";
import type { CollectionSchema, TypesenseField } from "../../typesense/types.js";
import { type CatalogSession, withCatalogSession } from "./catalog-session.js";
import { DocumentSpecError } from "./errors.js";
import { SORTABLE_TYPES } from "./field-types.js";
import { checkedField, describeScalar, noColumn, resolveFields } from "./resolve-fields.js";
import { flattenFields, resolveChildren, resolveLookups } from "./resolve-relations.js";
import { sqlFragmentProblem } from "./sql-fragment.js";
import type {
  ResolvedDocument,
  ResolvedField,
  ResolvedRelation,
  SpecJob,
  SpecProblem,
} from "./types.js";

export interface ResolveOptions {
  /** statement_timeout of every describe (default 5000 ms). */
  statementTimeoutMs?: number;
}

/**
 * Checks a job's document spec against the REAL source catalog and returns
 * what rendering needs. Every problem found in one pass is reported at once
 * (DocumentSpecError, 400 DOCUMENT_SPEC_INVALID), each at its JSON path.
 * Operator SQL is only described, inside a read-only transaction under
 * statement_timeout (catalog-session.ts), never executed.
 */
export async function resolveDocumentSpec(
  source: pg.Pool,
  job: SpecJob,
  spec: DocumentSpec | DocumentSpecInput,
  opts: ResolveOptions = {},
): Promise<ResolvedDocument> {
  const parsed = DocumentSpec.safeParse(spec);
  if (!parsed.success) {
    throw new DocumentSpecError(
      parsed.error.issues.map((i) => ({
        path: ["document", ...i.path]
          .map((p, n) => (typeof p === "number" ? `[${p}]` : n === 0 ? p : `.${String(p)}`))
          .join(""),
        message: i.message,
      })),
    );
  }
  const timeout = opts.statementTimeoutMs ?? 5000;
  return withCatalogSession(source, timeout, async (s) => {
    const problems: SpecProblem[] = [];
    const resolved = await resolveIn(s, job, parsed.data, problems);
    if (problems.length > 0 || !resolved) throw new DocumentSpecError(problems);
    return resolved;
  });
}

async function resolveIn(
  s: CatalogSession,
  job: SpecJob,
  spec: DocumentSpec,
  problems: SpecProblem[],
): Promise<ResolvedDocument | null> {
  const root = await s.table(job.schema, job.table);
  if (typeof root === "string") {
    problems.push({ path: "source_table_name", message: root });
    return null;
  }
  const idColumn = root.columns.find((c) => c.name === job.documentIdColumn);
  if (!idColumn) {
    problems.push({ path: "document_id_column", message: noColumn(job.documentIdColumn, root) });
  }
  const fields =
    spec.fields === undefined
      ? defaultFields(root, job, problems)
      : await resolveFields(s, root, spec.fields, "document.fields", problems);
  const filter = await resolveFilter(s, root, spec.filter, problems);
  const lookups = await resolveLookups(
    s,
    root,
    spec.lookups,
    job.schema,
    "document.lookups",
    1,
    problems,
  );
  const children = await resolveChildren(s, root, spec.children, job.schema, problems);
  const typesenseFields = documentFields(fields, lookups, children, problems);
  checkDefaultSorting(spec, fields, typesenseFields, problems);
  if (spec.fields !== undefined) checkQueryable(job, typesenseFields, problems);
  if (!idColumn || problems.length > 0) return null;
  return build(spec, root, idColumn, fields, filter, lookups, children, typesenseFields);
}

/**
 * No `fields`: today's mapper's choice (document-mapper.ts): included_columns
 * (empty = every column but stored generated ones) plus queryable_fields, in
 * table order, each typed and optioned as the mapper does (optional, indexed,
 * no facet); a column called "id" other than the id column collides.
 */
function defaultFields(root: TableInfo, job: SpecJob, problems: SpecProblem[]): ResolvedField[] {
  const wanted = new Set<string>();
  if (job.includedColumns.length === 0) {
    for (const c of root.columns) if (!c.generated) wanted.add(c.name);
  }
  const listed = (names: readonly string[], key: string) => {
    for (const [i, name] of names.entries()) {
      if (root.columns.some((c) => c.name === name)) wanted.add(name);
      else problems.push({ path: `${key}[${i}]`, message: noColumn(name, root) });
    }
  };
  listed(job.includedColumns, "included_columns");
  listed(job.queryableFields, "queryable_fields");
  const out: ResolvedField[] = [];
  for (const col of root.columns) {
    if (!wanted.has(col.name)) continue;
    if (col.name === "id") {
      if (col.name === job.documentIdColumn) continue;
      problems.push({
        path: "included_columns",
        message: `column "id" collides with the Typesense document id (taken from "${job.documentIdColumn}")`,
      });
      continue;
    }
    const at = `included_columns.${col.name}`;
    const f = checkedField(
      col,
      { name: col.name } as SpecField,
      { column: col.name },
      at,
      problems,
    );
    if (!f) continue;
    const qi = job.queryableFields.indexOf(col.name);
    if (qi >= 0 && f.typesense.type !== "string" && f.typesense.type !== "string[]") {
      problems.push({
        path: `queryable_fields[${qi}]`,
        message: `"${col.name}" maps to Typesense ${f.typesense.type} (${col.typeName}); query_by needs string or string[]`,
      });
    }
    out.push(f);
  }
  return out;
}

async function resolveFilter(
  s: CatalogSession,
  root: TableInfo,
  filter: string | undefined,
  problems: SpecProblem[],
): Promise<string | null> {
  if (filter === undefined) return null;
  const bad = sqlFragmentProblem(filter);
  if (bad) {
    problems.push({ path: "document.filter", message: bad });
    return null;
  }
  const d = await describeScalar(s, filter, root, "filter");
  if (typeof d === "string") problems.push({ path: "document.filter", message: d });
  else if (d.baseTypeName !== "bool" || d.isArray) {
    problems.push({ path: "document.filter", message: `must be boolean, is ${d.typeName}` });
  }
  return filter;
}

/**
 * The collection's fields in document order: root fields, root lookups'
 * fields (flat), then per child either `<child>` object[] plus its subfields
 * `<child>.<field>` (objects) or `<child>_<field>` arrays (arrays). Names are
 * unique across the document (and within a child object).
 */
function documentFields(
  fields: readonly ResolvedField[],
  lookups: readonly ResolvedRelation[],
  children: readonly ResolvedRelation[],
  problems: SpecProblem[],
): TypesenseField[] {
  const out: TypesenseField[] = [];
  const used = new Map<string, string>();
  const claim = (name: string, path: string) => {
    const first = used.get(name);
    if (first !== undefined) {
      problems.push({
        path: `${path}.name`,
        message: `field name "${name}" is already used by ${first}`,
      });
      return false;
    }
    used.set(name, path);
    return true;
  };
  for (const f of flattenFields(fields, lookups))
    if (claim(f.name, f.path)) out.push({ ...f.typesense });
  for (const c of children) {
    const members = flattenFields(c.fields, c.lookups);
    for (const f of members) {
      // a child field is an array in the collection (either shape): Typesense sorts scalars only
      if (f.typesense.sort === true) {
        problems.push({
          path: `${f.path}.sort`,
          message: "a child field is an array in the collection and cannot be sortable",
        });
      }
    }
    if (c.shape === "arrays") {
      for (const f of members) {
        const name = `${c.name}_${f.name}`;
        if (claim(name, f.path))
          out.push({ ...f.typesense, name, type: arrayOf(f.typesense.type), optional: true });
      }
      continue;
    }
    if (!claim(c.name, c.path)) continue;
    out.push({ name: c.name, type: "object[]", optional: true });
    const inChild = new Map<string, string>();
    for (const f of members) {
      const first = inChild.get(f.name);
      if (first !== undefined) {
        problems.push({
          path: `${f.path}.name`,
          message: `field name "${f.name}" is already used by ${first}`,
        });
        continue;
      }
      inChild.set(f.name, f.path);
      out.push({
        ...f.typesense,
        name: `${c.name}.${f.name}`,
        type: arrayOf(f.typesense.type),
        optional: true,
      });
    }
  }
  return out;
}

/** The type of a child field across the child rows: T[] (an array stays an array, flattened). */
function arrayOf(t: string): string {
  return t.endsWith("[]") ? t : `${t}[]`;
}

/**
 * Typesense's rule (reference/typesense-api.md): the field exists, is int32,
 * int64, float, bool, geopoint or a `sort: true` string, and is not optional.
 * Here it must also be a ROOT field (a lookup may not match, a child is an
 * array); it becomes `optional: false`, so a row rendering no value there is
 * rejected by Typesense (a dead letter): coalesce in `sql` if it can be NULL.
 */
function checkDefaultSorting(
  spec: DocumentSpec,
  fields: readonly ResolvedField[],
  all: TypesenseField[],
  problems: SpecProblem[],
): void {
  const name = spec.collection?.default_sorting_field;
  if (name === undefined) return;
  const at = "document.collection.default_sorting_field";
  const f = fields.find((x) => x.name === name);
  if (!f) {
    const where = all.some((x) => x.name === name) ? " (it comes from a lookup or a child)" : "";
    problems.push({ path: at, message: `"${name}" is not a root field of the document${where}` });
    return;
  }
  const t = f.typesense;
  if (!SORTABLE_TYPES.has(t.type) || (t.type === "string" && t.sort !== true)) {
    problems.push({
      path: at,
      message: `"${name}" is ${t.type}${t.type === "string" ? " without sort: true" : ""}; a default sorting field must be int32, int64, float, bool, geopoint or a sortable string`,
    });
    return;
  }
  if (isExplicitOptional(spec, name)) {
    problems.push({
      path: at,
      message: `"${name}" is optional: true; a default sorting field cannot be optional`,
    });
    return;
  }
  for (const x of all) if (x.name === name) x.optional = false;
  t.optional = false;
}

function isExplicitOptional(spec: DocumentSpec, name: string): boolean {
  return spec.fields?.some((f) => f.name === name && f.optional === true) ?? false;
}

/** queryable_fields (query_by) name string or string[] fields of the designed document. */
function checkQueryable(
  job: SpecJob,
  all: readonly TypesenseField[],
  problems: SpecProblem[],
): void {
  for (const [i, name] of job.queryableFields.entries()) {
    const f = all.find((x) => x.name === name);
    if (!f)
      problems.push({
        path: `queryable_fields[${i}]`,
        message: `"${name}" is not a field of the document`,
      });
    else if (f.type !== "string" && f.type !== "string[]") {
      problems.push({
        path: `queryable_fields[${i}]`,
        message: `"${name}" is ${f.type}; query_by needs string or string[]`,
      });
    }
  }
}

function build(
  spec: DocumentSpec,
  root: TableInfo,
  idColumn: ColumnInfo,
  fields: readonly ResolvedField[],
  filter: string | null,
  lookups: readonly ResolvedRelation[],
  children: readonly ResolvedRelation[],
  typesenseFields: readonly TypesenseField[],
): ResolvedDocument {
  const nested = typesenseFields.some((f) => f.type === "object" || f.type === "object[]");
  return {
    spec,
    root,
    idColumn,
    fields,
    filter,
    lookups,
    children,
    typesenseFields,
    collectionSchema(name: string): CollectionSchema {
      const schema: CollectionSchema = { name, fields: typesenseFields.map((f) => ({ ...f })) };
      if (nested) schema.enable_nested_fields = true;
      const c = spec.collection;
      if (c?.default_sorting_field !== undefined)
        schema.default_sorting_field = c.default_sorting_field;
      if (c?.token_separators !== undefined) schema.token_separators = [...c.token_separators];
      if (c?.symbols_to_index !== undefined) schema.symbols_to_index = [...c.symbols_to_index];
      return schema;
    },
  };
}
