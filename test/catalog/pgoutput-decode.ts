import type pg from "pg";

/**
 * Minimal pgoutput (protocol 1) decoder for tests: reads the relation and
 * insert messages of a slot through pg_logical_slot_get_binary_changes and
 * returns each inserted tuple as column name -> text, exactly as a CDC stream
 * receives it ('n' -> null, 'u' -> undefined).
 */
export async function readInsertedTuples(
  client: pg.ClientBase,
  slot: string,
  publication: string,
): Promise<Array<Record<string, string | null | undefined>>> {
  const res = await client.query<{ data: Buffer }>(
    `select data from pg_logical_slot_get_binary_changes($1, null, null,
       'proto_version', '1', 'publication_names', $2)`,
    [slot, publication],
  );
  const relations = new Map<number, string[]>();
  const rows: Array<Record<string, string | null | undefined>> = [];
  for (const { data } of res.rows) {
    let o = 0;
    const tag = String.fromCharCode(data[o++] ?? 0);
    const cstring = () => {
      const end = data.indexOf(0, o);
      const s = data.toString("utf8", o, end);
      o = end + 1;
      return s;
    };
    if (tag === "R") {
      const oid = data.readUInt32BE(o);
      o += 4;
      cstring(); // namespace
      cstring(); // relation name
      o += 1; // replica identity
      const n = data.readInt16BE(o);
      o += 2;
      const names: string[] = [];
      for (let i = 0; i < n; i++) {
        o += 1; // flags
        names.push(cstring());
        o += 8; // type oid, typmod
      }
      relations.set(oid, names);
    } else if (tag === "I") {
      const oid = data.readUInt32BE(o);
      o += 4 + 1; // 'N'
      const names = relations.get(oid) ?? [];
      const n = data.readInt16BE(o);
      o += 2;
      const row: Record<string, string | null | undefined> = {};
      for (let i = 0; i < n; i++) {
        const kind = String.fromCharCode(data[o++] ?? 0);
        const name = names[i] ?? `#${i}`;
        if (kind === "n") row[name] = null;
        else if (kind === "u") row[name] = undefined;
        else {
          const len = data.readInt32BE(o);
          o += 4;
          row[name] = data.toString("utf8", o, o + len);
          o += len;
        }
      }
      rows.push(row);
    }
  }
  return rows;
}
