import { ServiceError } from "../errors/service-error.js";

/**
 * Text -> value parsers for single Postgres values, fed with the output
 * function text (what pgoutput sends and what selectList reads). Each throws
 * UnrepresentableValue when the value has no faithful Typesense form; the
 * mapper then omits the field (like NULL) and reports it.
 */
export class UnrepresentableValue extends ServiceError {
  override readonly name = "UnrepresentableValue";
  constructor(message: string) {
    super("DOCUMENT_VALUE_UNREPRESENTABLE", message);
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** int8 text -> number when |n| <= 2^53-1, else bigint (the document value invariant). */
export function parseInt64(text: string): number | bigint {
  if (text.length < 16) return Number(text);
  const b = BigInt(text);
  return b > MAX_SAFE || b < -MAX_SAFE ? b : Number(b);
}

/**
 * float4/float8/numeric text -> finite number. NaN and +-Infinity have no JSON
 * form and Typesense has no float NaN, so they are unrepresentable (field
 * omitted, reported). A numeric beyond float8 range (e.g. 1e400) likewise;
 * numerics are otherwise rounded to the nearest float8 (about 15-17
 * significant digits), and Typesense indexes floats with float32 precision.
 */
export function parseFloatValue(text: string): number {
  const n = Number(text);
  if (Number.isFinite(n)) return n;
  if (text === "NaN" || text === "Infinity" || text === "-Infinity") {
    throw new UnrepresentableValue(`${text} cannot be stored in a float field`);
  }
  if (Number.isNaN(n)) throw new UnrepresentableValue(`not a number: ${preview(text)}`);
  throw new UnrepresentableValue(`${preview(text)} is outside the float range`);
}

export function parseBool(text: string): boolean {
  if (text === "t" || text === "true") return true;
  if (text === "f" || text === "false") return false;
  throw new UnrepresentableValue(`not a boolean: ${preview(text)}`);
}

/** A parsed date or timestamp: epoch milliseconds plus an ISO 8601 rendering. */
export interface ParsedInstant {
  /** Milliseconds since 1970-01-01T00:00:00Z; sub-millisecond digits are floored. */
  ms: number;
  iso: string;
}

// DateStyle ISO output: "2024-03-01", "2024-03-01 10:20:30.123456",
// "... +05:30" / "-03" / "+00:53:28" (historic LMT offsets), " BC" at the end.
const TIMESTAMP =
  /^(\d{4,})-(\d\d)-(\d\d)(?: (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?( BC)?$/;

/**
 * Parses date / timestamp / timestamptz output text (DateStyle ISO, the
 * Postgres default; other styles are reported as unparseable).
 * - timestamptz: the offset in the text is applied, so the result does not
 *   depend on the session TimeZone (pgoutput and a pool may differ); `iso` is
 *   UTC with a trailing "Z".
 * - timestamp (no time zone): interpreted as UTC; `iso` has no zone suffix.
 * - date: midnight UTC; `iso` is "YYYY-MM-DD".
 * `infinity` / `-infinity` are unrepresentable (no honest epoch value).
 */
export function parseInstant(
  text: string,
  kind: "date" | "timestamp" | "timestamptz",
): ParsedInstant {
  const p = parseInstantParts(text, kind);
  const whole = new Date(p.wholeMs).toISOString(); // "...T10:20:30.000Z", years may be +-YYYYYY
  if (kind === "date") return { ms: p.ms, iso: whole.slice(0, whole.indexOf("T")) };
  const base = whole.slice(0, whole.length - 5); // drop ".000Z"
  const fraction = p.frac ? `.${p.frac}` : "";
  return { ms: p.ms, iso: `${base}${fraction}${kind === "timestamptz" ? "Z" : ""}` };
}

/** Epoch milliseconds only (the hot path when no `_iso` field is wanted). */
export function parseInstantMs(text: string, kind: "date" | "timestamp" | "timestamptz"): number {
  return parseInstantParts(text, kind).ms;
}

function parseInstantParts(
  text: string,
  kind: "date" | "timestamp" | "timestamptz",
): { ms: number; wholeMs: number; frac: string | undefined } {
  const fast = parseIsoInstantFast(text);
  if (fast !== undefined) return fast;
  if (text === "infinity" || text === "-infinity") {
    throw new UnrepresentableValue(`${text} has no epoch value`);
  }
  const m = TIMESTAMP.exec(text);
  if (!m)
    throw new UnrepresentableValue(`unparseable ${kind} (DateStyle must be ISO): ${preview(text)}`);
  const [, y, mo, d, h, mi, s, frac, sign, oh, om, os, bc] = m;
  let year = Number(y);
  // 1 BC is astronomical year 0, 2 BC is -1, ...
  if (bc) year = 1 - year;
  // Exact day arithmetic (not Date.UTC): the local wall time may lie outside
  // Date's range while the instant (offset applied) does not, e.g.
  // 275760-09-13 02:00:00+02; the result must not depend on the session TimeZone.
  let wholeMs =
    daysFromCivil(year, Number(mo), Number(d)) * 86_400_000 +
    (Number(h ?? 0) * 3600 + Number(mi ?? 0) * 60 + Number(s ?? 0)) * 1000;
  if (sign) {
    const off = (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)) * 1000;
    wholeMs += sign === "+" ? -off : off;
  }
  // Date's range is +-8.64e15 ms (about 275760 years); Postgres goes to 294276 AD.
  if (!Number.isFinite(wholeMs) || Math.abs(wholeMs) > 8.64e15) {
    throw new UnrepresentableValue(`${text} is out of range`);
  }
  const micros = frac ? Number(frac.padEnd(6, "0")) : 0;
  return { ms: wholeMs + Math.floor(micros / 1000), wholeMs, frac };
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (astronomical year;
 * Hinnant's days_from_civil), exact for any year Postgres can output.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Value of the 2 ASCII digits at i, or NaN. */
function digits2(t: string, i: number): number {
  const a = t.charCodeAt(i) - 48;
  const b = t.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : Number.NaN;
}

/**
 * The common shapes of ISO DateStyle output, without the regex (a hot path of
 * full sync and CDC): "YYYY-MM-DD", optionally " HH:MM:SS", optionally
 * ".f{1,6}", optionally an offset "+HH", "+HH:MM" or "+HH:MM:SS", with a year
 * of 1000..9999 and no " BC". Computes exactly what the TIMESTAMP regex path
 * computes (same Date.UTC call, same offset and fraction arithmetic); any other
 * text returns undefined and takes that path.
 */
function parseIsoInstantFast(
  t: string,
): { ms: number; wholeMs: number; frac: string | undefined } | undefined {
  const n = t.length;
  if (n < 10 || t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45) return undefined;
  const y1 = digits2(t, 0);
  const y2 = digits2(t, 2);
  if (!(y1 >= 10)) return undefined; // NaN or a year below 1000 (Date.UTC maps 0..99)
  const year = y1 * 100 + y2;
  const mo = digits2(t, 5);
  const d = digits2(t, 8);
  if (Number.isNaN(year) || Number.isNaN(mo) || Number.isNaN(d)) return undefined;
  let h = 0;
  let mi = 0;
  let s = 0;
  let i = 10;
  let frac: string | undefined;
  let micros = 0;
  if (i < n && t.charCodeAt(i) === 32) {
    if (n < 19 || t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58) return undefined;
    h = digits2(t, 11);
    mi = digits2(t, 14);
    s = digits2(t, 17);
    if (Number.isNaN(h) || Number.isNaN(mi) || Number.isNaN(s)) return undefined;
    i = 19;
    if (i < n && t.charCodeAt(i) === 46) {
      const start = ++i;
      while (i < n && i - start < 6) {
        const c = t.charCodeAt(i) - 48;
        if (c < 0 || c > 9) break;
        micros = micros * 10 + c;
        i++;
      }
      const len = i - start;
      if (len === 0) return undefined;
      frac = t.slice(start, i);
      for (let k = len; k < 6; k++) micros *= 10; // padEnd(6, "0")
    }
  }
  let wholeMs = Date.UTC(year, mo - 1, d, h, mi, s);
  if (i < n) {
    const sign = t.charCodeAt(i);
    if (sign !== 43 && sign !== 45) return undefined;
    const oh = digits2(t, i + 1);
    if (Number.isNaN(oh)) return undefined;
    let off = oh * 3600;
    i += 3;
    if (i < n) {
      if (t.charCodeAt(i) !== 58) return undefined;
      const om = digits2(t, i + 1);
      if (Number.isNaN(om)) return undefined;
      off += om * 60;
      i += 3;
      if (i < n) {
        if (t.charCodeAt(i) !== 58) return undefined;
        const os = digits2(t, i + 1);
        if (Number.isNaN(os)) return undefined;
        off += os;
        i += 3;
      }
    }
    if (i !== n) return undefined;
    wholeMs += sign === 43 ? -off * 1000 : off * 1000;
  }
  // Years 1000..9999 are always within Date's range; the regex path checks the rest.
  return { ms: wholeMs + Math.floor(micros / 1000), wholeMs, frac };
}

/** A Typesense geopoint: [latitude, longitude]. */
export type GeoPoint = [number, number];

function checkedGeoPoint(lat: number, lng: number, text: string): GeoPoint {
  if (!Number.isFinite(lat) || !Number.isFinite(lng) || Math.abs(lat) > 90 || Math.abs(lng) > 180) {
    throw new UnrepresentableValue(`not a valid latitude/longitude: ${preview(text)}`);
  }
  return [lat, lng];
}

/** Postgres `point` "(x,y)": x is the longitude, y the latitude. */
export function parsePoint(text: string): GeoPoint {
  const m = /^\(([^,]+),([^)]+)\)$/.exec(text);
  if (!m) throw new UnrepresentableValue(`not a point: ${preview(text)}`);
  return checkedGeoPoint(Number(m[2]), Number(m[1]), text);
}

/**
 * PostGIS geometry/geography output is hex EWKB. Only a POINT (optionally with
 * Z/M) in SRID 4326 (or without SRID, which geography implies) becomes a
 * geopoint; anything else is unrepresentable in a geopoint field.
 */
export function parseEwkbPoint(hex: string): GeoPoint {
  if (hex.length < 42 || hex.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(hex)) {
    throw new UnrepresentableValue(`not an EWKB point: ${preview(hex)}`);
  }
  const buf = Buffer.from(hex, "hex");
  const le = buf[0] === 1;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const f64 = (o: number) => (le ? buf.readDoubleLE(o) : buf.readDoubleBE(o));
  const type = u32(1);
  const hasSrid = (type & 0x20000000) !== 0;
  // ISO WKB encodes Z/M as 1001/2001/3001; EWKB as flag bits.
  const baseType = (type & 0x0fffffff) % 1000;
  if (baseType !== 1) throw new UnrepresentableValue(`geometry is not a POINT: ${preview(hex)}`);
  let offset = 5;
  if (hasSrid) {
    const srid = u32(offset);
    offset += 4;
    if (srid !== 4326) throw new UnrepresentableValue(`point SRID ${srid} is not 4326`);
  }
  if (buf.length < offset + 16) throw new UnrepresentableValue(`truncated EWKB: ${preview(hex)}`);
  const x = f64(offset);
  const y = f64(offset + 8);
  return checkedGeoPoint(y, x, hex);
}

export function preview(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}
