/**
 * JSON with int64 precision.
 *
 * Typesense int64 fields and Postgres int8/json values can exceed 2^53, where a
 * JS number silently rounds. We keep such integers as `bigint` (see the value
 * invariant below) and write them back as raw JSON digits, so
 * 9223372036854775807 round-trips exactly through Typesense.
 *
 * A leaf module: the catalog, the Typesense client, CDC, full sync and the
 * emulator all read and write documents through it, and it imports nothing of
 * theirs.
 */

/**
 * A JSON value as documents hold it.
 *
 * Value invariant (relied on by serializeDocument, parseJson and
 * documentValuesEqual): an integer whose magnitude is at most 2^53-1 is a
 * `number`; a larger one is a `bigint`. Both the mapper (int8 columns, json
 * values) and the JSON reader for Typesense responses follow this rule, so a
 * document read back from Typesense compares equal to the one we built.
 */
export type DocumentValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | DocumentValue[]
  | { [key: string]: DocumentValue };

/** Any run of 16+ digits may be an integer beyond 2^53-1 (which has 16 digits). */
const MAYBE_UNSAFE_INT = /\d{16}/;

/**
 * JSON.parse that returns integers beyond +-(2^53-1) as bigint. Texts without a
 * 16-digit run (nearly all) take the native parser; the rest go through a small
 * exact parser.
 */
export function parseJson(text: string): DocumentValue {
  if (!MAYBE_UNSAFE_INT.test(text)) return JSON.parse(text) as DocumentValue;
  return new ExactJsonParser(text).parseDocument();
}

/**
 * One JSON line for Typesense import. JSON.stringify rejects bigint, so a
 * document that holds one is written by a small serializer that emits the
 * bigint as its decimal digits (a JSON number token with no rounding).
 */
export function serializeDocument(doc: DocumentValue): string {
  try {
    return JSON.stringify(doc);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return stringifyExact(doc);
  }
}

function stringifyExact(v: DocumentValue): string {
  switch (typeof v) {
    case "bigint":
      return v.toString();
    case "string":
    case "number":
    case "boolean":
      return JSON.stringify(v);
    case "object": {
      if (v === null) return "null";
      if (Array.isArray(v)) {
        return `[${v.map((x) => (x === undefined ? "null" : stringifyExact(x))).join(",")}]`;
      }
      const parts: string[] = [];
      for (const [k, x] of Object.entries(v)) {
        // Same as JSON.stringify: undefined members are skipped.
        if (x === undefined) continue;
        parts.push(`${JSON.stringify(k)}:${stringifyExact(x)}`);
      }
      return `{${parts.join(",")}}`;
    }
    default:
      return "null";
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

class ExactJsonParser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseDocument(): DocumentValue {
    const v = this.value();
    this.ws();
    if (this.i !== this.s.length) this.fail("unexpected trailing characters");
    return v;
  }

  private fail(what: string): never {
    throw new SyntaxError(`JSON: ${what} at position ${this.i}`);
  }

  private ws(): void {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else return;
    }
  }

  private value(): DocumentValue {
    this.ws();
    const c = this.s[this.i];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    if (this.s.startsWith("true", this.i)) return this.literal(4, true);
    if (this.s.startsWith("false", this.i)) return this.literal(5, false);
    if (this.s.startsWith("null", this.i)) return this.literal(4, null);
    return this.number();
  }

  private literal<T>(len: number, v: T): T {
    this.i += len;
    return v;
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) this.fail("unexpected token");
    const tok = m[0];
    this.i += tok.length;
    const n = Number(tok);
    // Only exact integer tokens can become bigint; 1e30 or 1.5 stay floats.
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(tok);
    return n;
  }

  private string(): string {
    const s = this.s;
    const start = this.i;
    let j = start + 1;
    for (;;) {
      const q = s.indexOf('"', j);
      if (q < 0) this.fail("unterminated string");
      // The quote ends the string unless an odd number of backslashes precede it.
      let bs = 0;
      for (let k = q - 1; k > start && s.charCodeAt(k) === 92; k--) bs++;
      if (bs % 2 === 0) {
        this.i = q + 1;
        break;
      }
      j = q + 1;
    }
    const raw = s.slice(start, this.i);
    // Escapes are rare; the native parser decodes them exactly.
    return raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  }

  private array(): DocumentValue[] {
    this.i++;
    const out: DocumentValue[] = [];
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === "]") return out;
      if (c !== ",") this.fail("expected ',' or ']'");
    }
  }

  private object(): { [key: string]: DocumentValue } {
    this.i++;
    const out: { [key: string]: DocumentValue } = {};
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail("expected a key");
      const k = this.string();
      this.ws();
      if (this.s[this.i++] !== ":") this.fail("expected ':'");
      const v = this.value();
      // Plain assignment of "__proto__" would set the prototype; JSON.parse
      // creates an own property instead, and so do we.
      if (k === "__proto__") {
        Object.defineProperty(out, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        out[k] = v;
      }
      this.ws();
      const c = this.s[this.i++];
      if (c === "}") return out;
      if (c !== ",") this.fail("expected ',' or '}'");
    }
  }
}

/**
 * Deep equality of document values as Typesense sees them: key order is
 * ignored, and a number equals a bigint of the same integer value (both sides
 * normally follow the number/bigint invariant, this only makes it robust).
 */
export function documentValuesEqual(
  a: DocumentValue | undefined,
  b: DocumentValue | undefined,
): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  const ta = typeof a;
  const tb = typeof b;
  if ((ta === "bigint" || ta === "number") && (tb === "bigint" || tb === "number")) {
    // Number.isInteger guards BigInt() against fractions.
    if (ta === "bigint") return Number.isInteger(b) && BigInt(b as number) === a;
    if (tb === "bigint") return Number.isInteger(a) && BigInt(a as number) === b;
    return false;
  }
  if (ta !== "object" || tb !== "object") return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => documentValuesEqual(x, b[i]));
  }
  const oa = a as { [k: string]: DocumentValue };
  const ob = b as { [k: string]: DocumentValue };
  const ka = Object.keys(oa);
  if (ka.length !== Object.keys(ob).length) return false;
  return ka.every((k) => Object.hasOwn(ob, k) && documentValuesEqual(oa[k], ob[k]));
}
