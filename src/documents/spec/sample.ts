import type pg from "pg";
import type { TableInfo } from "../../catalog/index.js";
import { quoteIdent } from "../../db/sql-text.js";
import { parseJson } from "../../json/codec.js";
import type { Document } from "../../typesense/types.js";
import { mapColumn } from "../map-column.js";
import { renderSpecSql } from "./render.js";
import { tableSql } from "./resolve-fields.js";
import type { ResolvedDocument, ResolvedRelation } from "./types.js";

export interface SampleResult {
  documents: Document[];
  warnings: string[];
}

/**
 * N documents (lowest ids first) rendered by the same statement as every
 * write path, for the preview. Warnings: root values the document leaves out
 * because Typesense cannot represent them (NaN, infinite dates, a json
 * scalar in an object field: the same conversion rule rowToDocument reports),
 * and lookup/child tables whose changes cannot name their roots (replica
 * identity), with the statement that fixes it.
 */
export async function sampleDocuments(
  source: pg.Pool,
  resolved: ResolvedDocument,
  limit: number,
): Promise<SampleResult> {
  const sql = renderSpecSql(resolved, { rawValues: true });
  const probes = sql.rawValues.map(([, text], i) => `${text} as "#raw${i}"`);
  const idCol = `"#r".${quoteIdent(resolved.idColumn.name)}`;
  const text =
    `select ${sql.idText} as id, ${sql.document} as document${probes.map((p) => `, ${p}`).join("")}\n${sql.from}` +
    `\nwhere ${idCol} is not null and ${sql.where} order by ${idCol} limit $1`;
  const r = await source.query<Record<string, string | null>>(text, [
    Math.max(0, Math.floor(limit)),
  ]);
  const warnings: string[] = [];
  const documents: Document[] = [];
  for (const row of r.rows) {
    documents.push(parseJson(row.document as string) as Document);
    for (const [i, [f]] of sql.rawValues.entries()) {
      const raw = row[`#raw${i}`];
      if (raw === null || raw === undefined) continue;
      const problem = mapColumn({ ...f.pg, name: f.name }).convert(raw).problem;
      if (problem !== undefined)
        warnings.push(`document ${row.id}: field "${f.name}" (${f.path}) left out: ${problem}`);
    }
  }
  warnings.push(...replicaIdentityWarnings(resolved));
  return { documents, warnings };
}

/**
 * CDC turns a change of a lookup or child row into "re-render these roots";
 * the change names its roots only through the join columns, and a DELETE
 * (and an UPDATE's old row) carries only the replica identity. So the looked-up
 * key (lookups) or the foreign key (children: also to see a child moved to
 * another parent) must be in the replica identity, or the table REPLICA
 * IDENTITY FULL. The root likewise: a DELETE names its document only by the
 * id column, which must be in the root's replica identity.
 */
export function replicaIdentityWarnings(resolved: ResolvedDocument): string[] {
  const out: string[] = [];
  const visit = (rels: readonly ResolvedRelation[]) => {
    for (const rel of rels) {
      const need = rel.on.map(([, other]) => other);
      const w = identityWarning(rel.table, need, rel.path);
      if (w) out.push(w);
      visit(rel.lookups);
    }
  };
  // the root: a DELETE names its document only through the id column
  const root = identityWarning(resolved.root, [resolved.idColumn.name], "document_id_column");
  if (root) out.push(root);
  visit(resolved.lookups);
  visit(resolved.children);
  return out;
}

function identityWarning(t: TableInfo, need: readonly string[], path: string): string | null {
  if (t.replicaIdentity === "full") return null;
  const missing = need.filter((c) => !t.replicaIdentityColumns.includes(c));
  if (missing.length === 0) return null;
  const now =
    t.replicaIdentity === "nothing"
      ? "REPLICA IDENTITY NOTHING"
      : `replica identity (${t.replicaIdentity}): ${t.replicaIdentityColumns.join(", ") || "none"}`;
  return `${tableSql(t)} (${path}): its changes cannot name the documents they belong to: ${missing.join(", ")} not in its ${now}; run ALTER TABLE ${tableSql(t)} REPLICA IDENTITY FULL (or make a unique index holding ${need.join(", ")} its replica identity)`;
}
