/*
 * SQL text helpers for statements that cannot take bind parameters (COPY,
 * DDL, identifiers). A leaf of db/: documents/ renders its SQL with them and
 * re-exports them, and the manifest repository builds its COPY with them
 * without importing documents/ (db/ sits below it).
 */

/** A quoted identifier: `"name"`, embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** SQL text literal that survives either standard_conforming_strings setting. */
export function sqlStringLiteral(text: string): string {
  return `E'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

/** `"schema"."table"`. */
export function qualifiedName(t: { readonly schema: string; readonly table: string }): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
}
