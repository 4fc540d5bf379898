import type {
  DocumentSpec,
  SpecChild,
  SpecField,
  SpecLookup,
} from "../db/repositories/document-spec.js";
import type { CollectionSchema, TypesenseField } from "../typesense/types.js";

/*
 * What a change of a live job's document design does to its collection
 * (issue 15 point 5; docs/api.md "Document spec", "Changing a spec").
 * Pure: the caller resolves both sides against the catalog first (the spec's
 * Typesense schema, or for a job without a spec the schema today's mapper
 * makes) and decides what to do with the answer (control/jobs.ts updateJob).
 *
 *   none           nothing the collection holds changes
 *   additive       only new fields: Typesense adds them to the live
 *                  collection (PATCH, as a full run's collection step does
 *                  for a table's new columns) and a full run fills them
 *   needs-rebuild  anything else: a changed type, a removed field, a field
 *                  option Typesense cannot change in place, a changed filter,
 *                  an added, removed or changed lookup or child, changed
 *                  collection options. Writing it into the live collection
 *                  would mix documents of two designs (or be refused by
 *                  Typesense); it needs a new collection filled beside the
 *                  old one and swapped in (the zero-downtime rebuild, issue 16)
 */

/** One side of the change: the spec and the collection schema it renders. */
export interface DocumentSide {
  /** null: no spec (the job renders included_columns / queryable_fields). */
  spec: DocumentSpec | null;
  schema: Omit<CollectionSchema, "name" | "metadata">;
}

/** Why a change needs a new collection: where in the spec, and what. */
export interface RebuildReason {
  /** JSON path in the NEW spec when it has the thing, else in the old (`document.fields[1]`). */
  path: string;
  reason: string;
}

export type DocumentChange =
  | { kind: "none" }
  /** `added`: the new fields (document paths, `brand_name`, `variants.size`). */
  | { kind: "additive"; added: string[] }
  | { kind: "needs-rebuild"; reasons: RebuildReason[] };

/** Stable JSON: object keys sorted (a spec read back from jsonb compares equal). */
export function canonicalSpec(v: unknown): string {
  return canonical(v);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

/** Classifies old -> new (either may be null). Every reason is collected, not only the first. */
export function classifyDocumentChange(before: DocumentSide, after: DocumentSide): DocumentChange {
  if (canonical(before.spec) === canonical(after.spec)) return { kind: "none" };
  const out: Found = { reasons: [], added: [] };
  compareSpecs(before, after, out);
  compareSchemas(before, after, out);
  if (out.reasons.length > 0) return { kind: "needs-rebuild", reasons: dedupe(out.reasons) };
  if (out.added.length === 0) return { kind: "none" };
  return { kind: "additive", added: [...new Set(out.added)] };
}

/** The reasons as one line: `path: reason; path: reason`. */
export function describeReasons(reasons: readonly RebuildReason[]): string {
  return reasons.map((r) => `${r.path}: ${r.reason}`).join("; ");
}

/**
 * The refusal's text for a change that needs a new collection but cannot be
 * rebuilt now (a CDC job: control/job-document.ts): every reason, then what
 * to do instead. Every other such change queues a rebuild.
 */
export function describeRebuild(reasons: readonly RebuildReason[]): string {
  return (
    `this document change needs a new collection: ${describeReasons(reasons)}. ` +
    'It is rebuilt beside the live one (a rebuild run, docs/full-sync.md "Rebuilds"), but ' +
    "a CDC job's stream renders every change with the job's stored design and writes it to the " +
    "live version as well, so storing the new design now would mix it into the live version. To rebuild " +
    "now, set cdc_enabled to false in the same PATCH (enable it again after the rebuild), or " +
    "change collection_name in the same PATCH (the job moves to a new collection made from the " +
    "new spec)"
  );
}

interface Found {
  reasons: RebuildReason[];
  added: string[];
}

function dedupe(reasons: RebuildReason[]): RebuildReason[] {
  const seen = new Set<string>();
  return reasons.filter((r) => {
    const k = `${r.path}\u0000${r.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/* ---- the spec: filter, relations, the fields of each field list ---- */

function compareSpecs(sb: DocumentSide, sa: DocumentSide, out: Found): void {
  const b = sb.spec;
  const a = sa.spec;
  const filterB = b?.filter ?? null;
  const filterA = a?.filter ?? null;
  if (filterB !== filterA) {
    out.reasons.push({
      path: "document.filter",
      reason: `the row filter changed (${JSON.stringify(filterB)} -> ${JSON.stringify(filterA)}): other rows belong in the collection`,
    });
  }
  if (b?.fields && a?.fields) compareFieldLists("document.fields", "", b.fields, a.fields, out);
  else checkImplicitSources(sb, sa, out);
  compareRelations("document.lookups", "lookup", b?.lookups ?? [], a?.lookups ?? [], out);
  compareRelations("document.children", "child", b?.children ?? [], a?.children ?? [], out);
}

/**
 * One side has no `fields` (its fields are the table's columns, each named
 * after its column): a field of the other side that the implicit side also
 * has must come from that same column, or its values change in place. Types
 * and options, and fields only one side has, are the schema comparison's.
 */
function checkImplicitSources(b: DocumentSide, a: DocumentSide, out: Found): void {
  const explicitSide = a.spec?.fields ? a : b.spec?.fields ? b : null;
  if (!explicitSide) return;
  const implicit = explicitSide === a ? b : a;
  const implicitNames = new Set(implicit.schema.fields.map((f) => f.name));
  const which = explicitSide === a ? "new" : "old";
  explicitSide.spec!.fields!.forEach((f, i) => {
    if (f.column === f.name || !implicitNames.has(f.name)) return;
    out.reasons.push({
      path: `document.fields[${i}]`,
      reason: `field "${f.name}" comes from ${f.column ? `column "${f.column}"` : "a SQL expression"} in the ${which} spec and from column "${f.name}" in the ${which === "new" ? "old" : "new"} one: its values change`,
    });
  });
}

type Relation = SpecLookup | SpecChild;

/** A relation without its field lists: what decides which rows it joins. */
function relationKey(r: Relation): string {
  const { fields: _f, lookups, ...rest } = r;
  return canonical({ ...rest, lookups: (lookups ?? []).map(relationKey) });
}

function compareRelations(
  path: string,
  kind: "lookup" | "child",
  before: readonly Relation[],
  after: readonly Relation[],
  out: Found,
  prefix = "",
): void {
  const byName = new Map(after.map((r, i) => [r.name, { r, i }] as const));
  before.forEach((rb, ib) => {
    const m = byName.get(rb.name);
    if (!m) {
      out.reasons.push({ path: `${path}[${ib}]`, reason: `${kind} "${rb.name}" removed` });
      return;
    }
    const at = `${path}[${m.i}]`;
    if (relationKey(rb) !== relationKey(m.r)) {
      out.reasons.push({
        path: at,
        reason: `${kind} "${rb.name}" changed which rows it joins (table, on${kind === "child" ? ", order_by, limit or shape" : ""} or its lookups)`,
      });
      return;
    }
    const own = `${prefix}${rb.name}.`;
    compareFieldLists(`${at}.fields`, kind === "child" ? own : prefix, rb.fields, m.r.fields, out);
    compareRelations(`${at}.lookups`, "lookup", rb.lookups ?? [], m.r.lookups ?? [], out, own);
  });
  const had = new Set(before.map((r) => r.name));
  after.forEach((r, i) => {
    if (had.has(r.name)) return;
    out.reasons.push({
      path: `${path}[${i}]`,
      reason: `${kind} "${r.name}" added: a new relation changes which rows render each document and what CDC follows`,
    });
  });
}

/** Fields by name: removed or changed is a rebuild, new ones are added (`prefix` names their parent). */
function compareFieldLists(
  path: string,
  prefix: string,
  before: readonly SpecField[],
  after: readonly SpecField[],
  out: Found,
): void {
  const byName = new Map(after.map((f, i) => [f.name, { f, i }] as const));
  before.forEach((fb, ib) => {
    const m = byName.get(fb.name);
    if (!m) {
      out.reasons.push({ path: `${path}[${ib}]`, reason: `field "${fb.name}" removed` });
      return;
    }
    const keys = changedKeys(fb, m.f);
    if (keys.length > 0) {
      out.reasons.push({
        path: `${path}[${m.i}]`,
        reason: `field "${fb.name}" changed (${keys.join(", ")})`,
      });
    }
  });
  const had = new Set(before.map((f) => f.name));
  for (const f of after) if (!had.has(f.name)) out.added.push(`${prefix}${f.name}`);
}

function changedKeys(b: object, a: object): string[] {
  const rb = b as Record<string, unknown>;
  const ra = a as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(rb), ...Object.keys(ra)])].sort();
  return keys.filter((k) => canonical(rb[k]) !== canonical(ra[k]));
}

/* ---- the collection schema: types, options, new fields, collection options ---- */

const NUMERIC = /^(int32|int64|float|bool)(\[\])?$/;

/** A field's options with Typesense's defaults filled in (docs: typesense-api.md). */
function options(f: TypesenseField): Record<string, unknown> {
  const { name: _n, type, ...rest } = f as TypesenseField & Record<string, unknown>;
  return {
    facet: false,
    index: true,
    infix: false,
    locale: "",
    store: true,
    optional: false,
    stem: false,
    range_index: false,
    sort: NUMERIC.test(String(type)),
    ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)),
  };
}

function pathOf(side: DocumentSide, name: string): string {
  const i = side.spec?.fields?.findIndex((f) => f.name === name) ?? -1;
  return i >= 0 ? `document.fields[${i}]` : "document";
}

function compareSchemas(b: DocumentSide, a: DocumentSide, out: Found): void {
  const after = new Map(a.schema.fields.map((f) => [f.name, f]));
  for (const fb of b.schema.fields) {
    const fa = after.get(fb.name);
    if (!fa) {
      out.reasons.push({ path: pathOf(b, fb.name), reason: `field "${fb.name}" removed` });
    } else if (fa.type !== fb.type) {
      out.reasons.push({
        path: pathOf(a, fb.name),
        reason: `field "${fb.name}" changes type (${fb.type} -> ${fa.type})`,
      });
    } else {
      const keys = changedKeys(options(fb), options(fa));
      if (keys.length > 0) {
        out.reasons.push({
          path: pathOf(a, fb.name),
          reason: `field "${fb.name}" changes ${keys.join(", ")}, which Typesense cannot change on a live field`,
        });
      }
    }
  }
  const had = new Set(b.schema.fields.map((f) => f.name));
  for (const fa of a.schema.fields) {
    if (had.has(fa.name)) continue;
    checkNewField(b, a, fa, out);
    out.added.push(fa.name);
  }
  compareCollectionOptions(b, a, out);
}

/** A new field Typesense can add to a collection that holds documents, or the reason it cannot. */
function checkNewField(b: DocumentSide, a: DocumentSide, f: TypesenseField, out: Found): void {
  if (f.optional !== true) {
    out.reasons.push({
      path: pathOf(a, f.name),
      reason: `new field "${f.name}" is not optional: Typesense refuses to add a required field to a collection that holds documents`,
    });
  }
  const nested = f.type === "object" || f.type === "object[]";
  if (nested && b.schema.enable_nested_fields !== true) {
    out.reasons.push({
      path: pathOf(a, f.name),
      reason: `new field "${f.name}" is ${f.type}, which needs enable_nested_fields, and a collection cannot switch that on`,
    });
  }
}

function compareCollectionOptions(b: DocumentSide, a: DocumentSide, out: Found): void {
  for (const k of ["default_sorting_field", "token_separators", "symbols_to_index"] as const) {
    const vb = b.schema[k] ?? (k === "default_sorting_field" ? null : []);
    const va = a.schema[k] ?? (k === "default_sorting_field" ? null : []);
    if (canonical(vb) !== canonical(va)) {
      out.reasons.push({
        path: `document.collection.${k}`,
        reason: `${k} changes (${JSON.stringify(vb)} -> ${JSON.stringify(va)}): it is set when a collection is made`,
      });
    }
  }
}
