/**
 * Decoder for COPY ... TO STDOUT text format (the default: tab delimiter,
 * `\N` for NULL, "\n" after every row).
 *
 * COPY writes each column's output-function text and escapes it
 * (CopyAttributeOutText): backslash as `\\`, and the control characters
 * backspace, form feed, newline, carriage return, tab and vertical tab as
 * `\b \f \n \r \t \v`; every other character is written as is. Decoding those
 * escapes gives back exactly the output text, so a window read with
 * `COPY (SELECT <selectList> ...)` yields the same values as the same SELECT
 * through the extended protocol, without pg's per-row result objects.
 * (COPY FROM also accepts octal and hex escapes; COPY TO never writes them,
 * and a backslash before any other character stands for that character.)
 */

/** A row of column texts by name. One object is reused for every row of a call. */
export type CopyRow = Record<string, string | null>;

const ESCAPES: Record<string, string> = {
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

function unescapeField(s: string, firstBackslash: number): string {
  let out = "";
  let from = 0;
  let b = firstBackslash;
  while (b >= 0) {
    out += s.slice(from, b);
    const ch = s[b + 1];
    if (ch === undefined) throw new Error("COPY text ends with a lone backslash");
    out += ESCAPES[ch] ?? ch;
    from = b + 2;
    b = s.indexOf("\\", from);
  }
  return out + s.slice(from);
}

/**
 * Calls `onRow` for every row of `text` (complete COPY text output) with ONE
 * reused row object holding the texts under `names` (the COPY's column order).
 * `onRow` must not keep the object. Returns the number of rows.
 */
export function forEachCopyRow(
  text: string,
  names: readonly string[],
  onRow: (row: CopyRow) => void,
): number {
  const row: CopyRow = {};
  for (const name of names) {
    // a column named __proto__ must be an own property, not the prototype
    Object.defineProperty(row, name, { value: null, writable: true, enumerable: true });
  }
  const ncol = names.length;
  const len = text.length;
  let rows = 0;
  let pos = 0;
  while (pos < len) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = len; // tolerated: COPY always ends rows with "\n"
    let p = pos;
    for (let k = 0; k < ncol; k++) {
      let end = text.indexOf("\t", p);
      if (end < 0 || end > nl) end = nl;
      if (k < ncol - 1 ? end === nl : end !== nl) {
        throw new Error(`COPY row ${rows} does not have ${ncol} columns`);
      }
      let v: string | null;
      if (end - p === 2 && text.charCodeAt(p) === 92 && text.charCodeAt(p + 1) === 78) v = null;
      else {
        v = text.slice(p, end);
        const b = v.indexOf("\\");
        if (b >= 0) v = unescapeField(v, b);
      }
      row[names[k]!] = v;
      p = end + 1;
    }
    onRow(row);
    rows++;
    pos = nl + 1;
  }
  return rows;
}

const BINARY_SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

/**
 * Decoder for `COPY ... TO STDOUT (FORMAT binary)` of exactly two non-NULL
 * text columns (full sync's id + rendered document): an 11-byte signature,
 * int32 flags, int32 header-extension length (+ extension); per row an int16
 * field count and per field an int32 length and that many bytes (text in the
 * client encoding, unescaped); an int16 -1 trailer. Calls `row` with the byte
 * ranges of both fields; anything else is a protocol error, never skipped.
 */
export function forEachBinaryPair(
  buf: Buffer,
  row: (aStart: number, aEnd: number, bStart: number, bEnd: number) => void,
): void {
  if (buf.length < 19 || !buf.subarray(0, 11).equals(BINARY_SIGNATURE)) {
    throw new Error("COPY binary: bad signature");
  }
  let at = 19 + buf.readInt32BE(15);
  for (;;) {
    if (at + 2 > buf.length) throw new Error("COPY binary: truncated (no trailer)");
    const fields = buf.readInt16BE(at);
    at += 2;
    if (fields === -1) return;
    if (fields !== 2) throw new Error(`COPY binary: ${fields} fields, expected 2`);
    const aLen = buf.readInt32BE(at);
    const aStart = at + 4;
    const aEnd = aStart + aLen;
    const bLen = buf.readInt32BE(aEnd);
    const bStart = aEnd + 4;
    const bEnd = bStart + bLen;
    if (aLen < 0 || bLen < 0 || bEnd > buf.length) {
      throw new Error("COPY binary: NULL or truncated field");
    }
    row(aStart, aEnd, bStart, bEnd);
    at = bEnd;
  }
}
