/**
 * Log sequence numbers as bigint. The replication library hands out LSNs as
 * unpadded ("16/B374D848") or zero-padded ("00000016/B374D848") strings, and
 * `null` for 0/0; string comparison is wrong for both, so every comparison in
 * cdc/ goes through these helpers.
 */
export type Lsn = bigint;

export const ZERO_LSN: Lsn = 0n;

const LSN_RE = /^([0-9a-fA-F]{1,8})\/([0-9a-fA-F]{1,8})$/;

/** Parses "X/Y" (either padding); `null`/`undefined` read as 0/0. Throws on garbage. */
export function parseLsn(text: string | null | undefined): Lsn {
  if (text === null || text === undefined) return ZERO_LSN;
  // fast path (every replication message carries one): plain "HEX/HEX"
  const fast = parseHexPair(text);
  if (fast !== null) return fast;
  const m = LSN_RE.exec(text.trim());
  if (!m) throw new Error(`invalid LSN "${text}"`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** "X/Y" with 1..8 hex digits each, else null (the regex path decides). */
function parseHexPair(text: string): Lsn | null {
  let hi = 0;
  let lo = 0;
  let digits = 0;
  let slash = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 47 && !slash) {
      if (digits === 0) return null;
      slash = true;
      digits = 0;
      continue;
    }
    const d = hexDigit(c);
    if (d < 0 || ++digits > 8) return null;
    if (slash) lo = lo * 16 + d;
    else hi = hi * 16 + d;
  }
  if (!slash || digits === 0) return null;
  return BigInt(hi) * 4294967296n + BigInt(lo);
}

/** Postgres' own spelling: upper-case hex, no padding ("16/B374D848"). */
export function formatLsn(lsn: Lsn): string {
  if (lsn < 0n) throw new Error(`negative LSN ${lsn}`);
  const hi = (lsn >> 32n) & 0xffffffffn;
  const lo = lsn & 0xffffffffn;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a > b ? a : b;
}
