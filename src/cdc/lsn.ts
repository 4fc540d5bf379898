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
  const m = LSN_RE.exec(text.trim());
  if (!m) throw new Error(`invalid LSN "${text}"`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
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
