import type { Pgoutput } from "pg-logical-replication";
import type { TextTuple } from "./events.js";

/**
 * A fast reader for pgoutput's row messages (insert 'I', update 'U', delete
 * 'D'), the bulk of a stream. It yields exactly what the library's parser
 * yields with identity column parsers (same key/old/new rules), but reads the
 * text straight from the buffer into plain objects: no per-column parser call,
 * no TextDecoder, no prototype-less record copied again afterwards.
 *
 * Formats (protocol 1): 'I' relid 'N' tuple | 'U' relid ['K'|'O' tuple] 'N'
 * tuple | 'D' relid ('K'|'O') tuple; tuple = int16 n, then per column 'n'
 * (null), 'u' (unchanged TOAST), 't' int32 len + text, or 'b' int32 len + bytes.
 * Anything else (and every other message) is left to the library.
 */
export type PlainRowMessage =
  | { tag: "insert"; relation: Pgoutput.MessageRelation; new: TextTuple; plain: true }
  | {
      tag: "update";
      relation: Pgoutput.MessageRelation;
      key: TextTuple | null;
      old: TextTuple | null;
      new: TextTuple;
      plain: true;
    }
  | {
      tag: "delete";
      relation: Pgoutput.MessageRelation;
      key: TextTuple | null;
      old: TextTuple | null;
      plain: true;
    };

class Reader {
  p = 1;
  constructor(readonly b: Buffer) {}
  u8(): number {
    if (this.p >= this.b.length) throw new Error("unexpected end of message");
    return this.b[this.p++]!;
  }
  i16(): number {
    const v = this.b.readInt16BE(this.p);
    this.p += 2;
    return v;
  }
  i32(): number {
    const v = this.b.readInt32BE(this.p);
    this.p += 4;
    return v;
  }
  tuple(rel: Pgoutput.MessageRelation, fallback?: TextTuple | null): TextTuple {
    const n = this.i16();
    const cols = rel.columns;
    const out: TextTuple = {};
    for (let i = 0; i < n; i++) {
      const name = cols[i]!.name;
      const kind = this.u8();
      if (kind === 0x74 || kind === 0x62) {
        // 't' text / 'b' binary (never requested; read as text like String(buffer))
        const len = this.i32();
        const end = this.p + len;
        if (end > this.b.length) throw new Error("unexpected end of message");
        out[name] = this.b.toString("utf8", this.p, end);
        this.p = end;
      } else if (kind === 0x6e) {
        out[name] = null;
      } else if (kind === 0x75) {
        out[name] = fallback ? fallback[name] : undefined;
      } else {
        throw new Error(`unknown attribute kind ${String.fromCharCode(kind)}`);
      }
    }
    return out;
  }
  keyTuple(rel: Pgoutput.MessageRelation): TextTuple {
    const t = this.tuple(rel);
    const key: TextTuple = {};
    // a null in a key-only tuple is the placeholder of a non-key column
    for (const k of rel.keyColumns) key[k] = t[k] === null ? undefined : t[k];
    return key;
  }
}

/** Relation messages by relation id, as the library's parser caches them. */
export type RelationCache = Map<number, Pgoutput.MessageRelation>;

/** A row message read fast, or null when the library should parse it. */
export function parseRowMessage(buf: Buffer, relations: RelationCache): PlainRowMessage | null {
  const tag = buf[0];
  if (tag !== 0x49 && tag !== 0x55 && tag !== 0x44) return null;
  const r = new Reader(buf);
  const relation = relations.get(r.i32());
  if (!relation) return null; // let the library report it
  if (tag === 0x49) {
    r.u8(); // 'N'
    return { tag: "insert", relation, new: r.tuple(relation), plain: true };
  }
  const sub = r.u8();
  if (tag === 0x55) {
    if (sub === 0x4b) {
      const key = r.keyTuple(relation);
      r.u8(); // 'N'
      return { tag: "update", relation, key, old: null, new: r.tuple(relation), plain: true };
    }
    if (sub === 0x4f) {
      const old = r.tuple(relation);
      r.u8(); // 'N'
      return { tag: "update", relation, key: null, old, new: r.tuple(relation, old), plain: true };
    }
    if (sub === 0x4e) {
      return { tag: "update", relation, key: null, old: null, new: r.tuple(relation), plain: true };
    }
    throw new Error(`unknown submessage key ${String.fromCharCode(sub)}`);
  }
  if (sub === 0x4b)
    return { tag: "delete", relation, key: r.keyTuple(relation), old: null, plain: true };
  if (sub === 0x4f)
    return { tag: "delete", relation, key: null, old: r.tuple(relation), plain: true };
  throw new Error(`unknown submessage key ${String.fromCharCode(sub)}`);
}
