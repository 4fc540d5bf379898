import { describe, expect, it } from "vitest";
import {
  flattenPgArray,
  parseInstant,
  parsePgArray,
  UnrepresentableValue,
} from "../../src/documents/index.js";
import { parsePgArrayFlat } from "../../src/documents/pg-array.js";

/*
 * The catalog's hot-path parsers (char-code timestamp parser, one-pass flat
 * array parser) must compute exactly what the general implementations
 * compute. These tests compare them with reference copies over generated and
 * edge-case inputs.
 */

// The general timestamp parser as it was before the fast path (reference).
const TIMESTAMP =
  /^(\d{4,})-(\d\d)-(\d\d)(?: (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?( BC)?$/;

function referenceInstant(text: string, kind: "date" | "timestamp" | "timestamptz") {
  if (text === "infinity" || text === "-infinity") return "unrepresentable";
  const m = TIMESTAMP.exec(text);
  if (!m) return "unrepresentable";
  const [, y, mo, d, h, mi, s, frac, sign, oh, om, os, bc] = m;
  let year = Number(y);
  if (bc) year = 1 - year;
  let wholeMs: number;
  if (year >= 100) {
    wholeMs = Date.UTC(
      year,
      Number(mo) - 1,
      Number(d),
      Number(h ?? 0),
      Number(mi ?? 0),
      Number(s ?? 0),
    );
  } else {
    const date = new Date(0);
    date.setUTCFullYear(year, Number(mo) - 1, Number(d));
    date.setUTCHours(Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), 0);
    wholeMs = date.getTime();
  }
  if (sign) {
    const off = (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)) * 1000;
    wholeMs += sign === "+" ? -off : off;
  }
  if (!Number.isFinite(wholeMs) || Math.abs(wholeMs) > 8.64e15) return "unrepresentable";
  const micros = frac ? Number(frac.padEnd(6, "0")) : 0;
  const whole = new Date(wholeMs).toISOString();
  const ms = wholeMs + Math.floor(micros / 1000);
  if (kind === "date") return { ms, iso: whole.slice(0, whole.indexOf("T")) };
  const base = whole.slice(0, whole.length - 5);
  return { ms, iso: `${base}${frac ? `.${frac}` : ""}${kind === "timestamptz" ? "Z" : ""}` };
}

function actualInstant(text: string, kind: "date" | "timestamp" | "timestamptz") {
  try {
    return parseInstant(text, kind);
  } catch (e) {
    if (e instanceof UnrepresentableValue) return "unrepresentable";
    throw e;
  }
}

function rng(seed: number) {
  let x = seed;
  return (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
}

const pad = (n: number, w: number) => String(n).padStart(w, "0");

describe("timestamp fast path", () => {
  it.each([
    "2024-02-29",
    "2024-02-29 13:14:15",
    "2024-02-29 13:14:15.1",
    "2024-02-29 13:14:15.123456",
    "2024-02-29 13:14:15.1234567",
    "2024-02-29 13:14:15.",
    "2024-02-29 13:14:15+05",
    "2024-02-29 13:14:15.999999+05:30",
    "2024-02-29 13:14:15-03:30",
    "1900-01-01 00:19:32+00:19:32",
    "1900-01-01 00:19:32+00:19:3",
    "1900-01-01 00:19:32+00::32",
    "2024-02-29+05",
    "2024-02-29 BC",
    "2024-02-29 13:14:15+00 BC",
    "0999-12-31 23:59:59",
    "0099-06-01",
    "12345-01-01 00:00:00",
    "294276-12-31 23:59:59.999999",
    "2024-13-45 25:61:61",
    "2024-1-01",
    "2024-01-01 1:02:03",
    "2024-01-01T01:02:03",
    "2024-01-01 01:02:03 ",
    "2024-01-01 01:02:03+5",
    "infinity",
    "-infinity",
    "",
    "abcd-ef-gh",
  ])("%j matches the general parser", (text) => {
    for (const kind of ["date", "timestamp", "timestamptz"] as const) {
      expect(actualInstant(text, kind)).toEqual(referenceInstant(text, kind));
    }
  });

  it("matches the general parser on 5000 generated timestamps", () => {
    const r = rng(42);
    for (let k = 0; k < 5000; k++) {
      let t = `${pad(1000 + r(9000), 4)}-${pad(1 + r(12), 2)}-${pad(1 + r(28), 2)}`;
      if (r(4) > 0) t += ` ${pad(r(24), 2)}:${pad(r(60), 2)}:${pad(r(60), 2)}`;
      if (r(2) > 0) t += `.${pad(r(1_000_000), 6).slice(0, 1 + r(6))}`;
      const o = r(4);
      if (o > 0) t += `${r(2) ? "+" : "-"}${pad(r(15), 2)}`;
      if (o > 1) t += `:${pad(r(60), 2)}`;
      if (o > 2) t += `:${pad(r(60), 2)}`;
      expect(actualInstant(t, "timestamptz")).toEqual(referenceInstant(t, "timestamptz"));
    }
  });
});

describe("flat array parser", () => {
  it.each([
    "{}",
    "{1,2,3}",
    '{NULL,null,"NULL",N\\ULL}',
    '{"a,b","q\\"d","b\\\\s",""," x "}',
    "{{1,2},{3,NULL}}",
    "[0:1]={a,b}",
    "[1:2][1:1]={{a},{b}}",
    '{"{x}",{}}',
    "{ 1 , 2 }",
    '{"日本語 🎉",é}',
    "{{},{{}},{a}}",
  ])("%s equals flattenPgArray(parsePgArray())", (text) => {
    expect(parsePgArrayFlat(text)).toEqual(flattenPgArray(parsePgArray(text)));
  });

  it.each(["", "1,2", "{1,2", '{"a}', "{1}x", "[1:2]{1,2}", "{a\\", '{"a\\'])(
    "rejects malformed %j with the same message",
    (text) => {
      const message = (f: () => unknown) => {
        try {
          f();
          return "no error";
        } catch (e) {
          return (e as Error).message;
        }
      };
      expect(message(() => parsePgArrayFlat(text))).toBe(message(() => parsePgArray(text)));
      expect(message(() => parsePgArray(text))).not.toBe("no error");
    },
  );
});
