import type pg from "pg";

/** pg_catalog queries behind describeTable: types (domains, arrays, output functions) and indexes. */

/**
 * What the mapper needs to know about the value of a column (of each element,
 * for arrays), after resolving domains to their base type.
 */
export type ColumnKind =
  | "int32" // int2, int4
  | "int64" // int8
  | "numeric"
  | "float" // float4, float8
  | "bool"
  | "string" // text, varchar, bpchar, name, citext, uuid
  | "enum"
  | "date"
  | "timestamp"
  | "timestamptz"
  | "json" // json, jsonb
  | "point"
  | "geometry" // PostGIS geometry or geography
  | "other"; // anything else: its output text becomes a string

/** Something that runs a parameterised query: a pg.Pool or a pg.Client. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface TypeRow {
  oid: number;
  typname: string;
  typtype: string;
  typbasetype: number;
  typelem: number;
  typcategory: string;
  typdelim: string;
  nspname: string;
  output_fn: string;
}

// Array-like system types whose text form is space separated, not "{...}".
export const VECTOR_TYPES = new Set(["int2vector", "oidvector"]);

/** Loads the given types plus, transitively, their domain base and element types. */
export async function loadTypes(db: Queryable, oids: number[]): Promise<Map<number, TypeRow>> {
  const out = new Map<number, TypeRow>();
  let pending = [...new Set(oids)];
  // Domain-over-domain and domain-over-array chains are short; bound the loop anyway.
  for (let round = 0; pending.length > 0 && round < 16; round++) {
    const res = await db.query<TypeRow>(
      `select t.oid, t.typname, t.typtype, t.typbasetype, t.typelem, t.typcategory, t.typdelim,
              tn.nspname,
              pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(p.proname) as output_fn
         from pg_catalog.pg_type t
         join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
         join pg_catalog.pg_proc p on p.oid = t.typoutput
         join pg_catalog.pg_namespace pn on pn.oid = p.pronamespace
        where t.oid = any($1::oid[])`,
      [pending],
    );
    const next = new Set<number>();
    for (const t of res.rows) {
      out.set(t.oid, t);
      for (const dep of [t.typtype === "d" ? t.typbasetype : 0, t.typelem]) {
        if (dep !== 0 && !out.has(dep)) next.add(dep);
      }
    }
    pending = [...next];
  }
  return out;
}

export function resolveDomain(types: Map<number, TypeRow>, t: TypeRow): TypeRow {
  let cur = t;
  for (let i = 0; cur.typtype === "d" && i < 32; i++) {
    const base = types.get(cur.typbasetype);
    if (!base) break;
    cur = base;
  }
  return cur;
}

const BUILTIN_KINDS: Record<string, ColumnKind> = {
  int2: "int32",
  int4: "int32",
  int8: "int64",
  numeric: "numeric",
  float4: "float",
  float8: "float",
  bool: "bool",
  text: "string",
  varchar: "string",
  bpchar: "string",
  name: "string",
  uuid: "string",
  date: "date",
  timestamp: "timestamp",
  timestamptz: "timestamptz",
  json: "json",
  jsonb: "json",
  point: "point",
};

export function kindOf(t: TypeRow): ColumnKind {
  if (t.typtype === "e") return "enum";
  if (t.nspname === "pg_catalog") return BUILTIN_KINDS[t.typname] ?? "other";
  // Extension types live in whatever schema the extension was installed in.
  if (t.typname === "citext") return "string";
  if (t.typname === "geometry" || t.typname === "geography") return "geometry";
  return "other";
}

export async function readIndexes(
  db: Queryable,
  oid: number,
): Promise<{ primaryKey: string[]; unique: string[]; replIdent: string[] }> {
  const res = await db.query<{
    indisprimary: boolean;
    indisunique: boolean;
    indisreplident: boolean;
    single: boolean;
    cols: string[];
  }>(
    `select i.indisprimary, i.indisunique, i.indisreplident,
            (i.indnkeyatts = 1 and i.indpred is null and i.indexprs is null and i.indisvalid) as single,
            array(select a.attname::text
                    from unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
                    join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                   where k.ord <= i.indnkeyatts
                   order by k.ord) as cols
       from pg_catalog.pg_index i
      where i.indrelid = $1
      order by i.indexrelid`,
    [oid],
  );
  let primaryKey: string[] = [];
  let replIdent: string[] = [];
  const unique = new Set<string>();
  for (const ix of res.rows) {
    if (ix.indisprimary) primaryKey = ix.cols;
    if (ix.indisreplident) replIdent = ix.cols;
    const only = ix.cols[0];
    if (ix.indisunique && ix.single && only !== undefined) unique.add(only);
  }
  return { primaryKey, unique: [...unique], replIdent };
}
