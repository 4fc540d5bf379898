import type { Collection } from "./collection.js";
import { ApiError } from "./errors.js";

/**
 * filter_by parser (evaluation is in filter.ts).
 *
 *   expr    := and ('||' and)*
 *   and     := primary ('&&' primary)*
 *   primary := '(' expr ')' | clause
 *   clause  := field ':' op? (value | '[' value (',' value)* ']')
 *   op      := '=' | '!=' | '!' | '>' | '>=' | '<' | '<='
 *   value   := '`' any-but-backtick '`' | raw text up to && || or a closing paren
 */

export type FilterOp = "match" | "eq" | "ne" | "gt" | "gte" | "lt" | "lte";

export type FilterNode =
  | { kind: "and" | "or"; left: FilterNode; right: FilterNode }
  | { kind: "clause"; field: string; op: FilterOp; values: string[] };

export const PARSE_ERROR = "Could not parse the filter query.";
const MAX_OPS = 100;

class Parser {
  pos = 0;
  depth = 0;
  ops = 0;
  constructor(readonly s: string) {}

  ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }

  peek(t: string): boolean {
    this.ws();
    return this.s.startsWith(t, this.pos);
  }

  expr(): FilterNode {
    let left = this.and();
    while (this.peek("||")) {
      this.pos += 2;
      left = { kind: "or", left, right: this.and() };
    }
    return left;
  }

  and(): FilterNode {
    let left = this.primary();
    while (this.peek("&&")) {
      this.pos += 2;
      left = { kind: "and", left, right: this.primary() };
    }
    return left;
  }

  primary(): FilterNode {
    if (this.peek("(")) {
      this.pos++;
      this.depth++;
      const e = this.expr();
      if (!this.peek(")")) throw new ApiError(400, PARSE_ERROR);
      this.pos++;
      this.depth--;
      return e;
    }
    return this.clause();
  }

  clause(): FilterNode {
    this.ws();
    const colon = this.s.indexOf(":", this.pos);
    if (colon < 0) throw new ApiError(400, PARSE_ERROR);
    const field = this.s.slice(this.pos, colon).trim();
    if (field === "" || /[()&|\s]/.test(field)) throw new ApiError(400, PARSE_ERROR);
    this.pos = colon + 1;
    this.ws();
    let op: FilterOp = "match";
    for (const [tok, o] of [
      ["!=", "ne"],
      [">=", "gte"],
      ["<=", "lte"],
      ["!", "ne"],
      ["=", "eq"],
      [">", "gt"],
      ["<", "lt"],
    ] as const) {
      if (this.s.startsWith(tok, this.pos)) {
        op = o;
        this.pos += tok.length;
        break;
      }
    }
    this.ws();
    let values: string[];
    if (this.s[this.pos] === "[") {
      values = this.list();
    } else {
      values = [this.value()];
    }
    if (values.some((v) => v === "")) throw new ApiError(400, PARSE_ERROR);
    if (++this.ops > MAX_OPS) {
      throw new ApiError(
        400,
        "`filter_by` has too many operations. Maximum allowed: 100. Use `--filter-by-max-ops` command line argument to customize this value.",
      );
    }
    return { kind: "clause", field, op, values };
  }

  value(): string {
    if (this.s[this.pos] === "`") {
      const end = this.s.indexOf("`", this.pos + 1);
      if (end < 0) throw new ApiError(400, PARSE_ERROR);
      const v = this.s.slice(this.pos + 1, end);
      this.pos = end + 1;
      return v;
    }
    const start = this.pos;
    while (this.pos < this.s.length) {
      if (this.s.startsWith("&&", this.pos) || this.s.startsWith("||", this.pos)) break;
      if (this.s[this.pos] === ")" && this.depth > 0) break;
      this.pos++;
    }
    return this.s.slice(start, this.pos).trim();
  }

  list(): string[] {
    const end = this.s.length;
    const out: string[] = [];
    let cur = "";
    let i = this.pos + 1;
    let inTick = false;
    for (; i < end; i++) {
      const c = this.s[i]!;
      if (c === "`") inTick = !inTick;
      else if (!inTick && c === ",") {
        out.push(cur.trim());
        cur = "";
        continue;
      } else if (!inTick && c === "]") break;
      cur += c;
    }
    if (i >= end) throw new ApiError(400, PARSE_ERROR);
    out.push(cur.trim());
    this.pos = i + 1;
    return out.map((v) =>
      v.startsWith("`") && v.endsWith("`") && v.length >= 2 ? v.slice(1, -1) : v,
    );
  }
}

/** Parses filter_by and checks every field against the collection. Throws ApiError. */
export function parseFilter(text: string, coll: Collection): FilterNode {
  const p = new Parser(text);
  const node = p.expr();
  p.ws();
  if (p.pos !== text.length) throw new ApiError(400, PARSE_ERROR);
  checkFields(node, coll);
  return node;
}

function checkFields(node: FilterNode, coll: Collection): void {
  if (node.kind !== "clause") {
    checkFields(node.left, coll);
    checkFields(node.right, coll);
    return;
  }
  if (node.field === "id") return;
  const f = coll.field(node.field);
  if (!f?.index) {
    throw new ApiError(404, `Could not find a filter field named \`${node.field}\` in the schema.`);
  }
}
