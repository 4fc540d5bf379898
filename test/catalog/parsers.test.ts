import { describe, expect, it } from "vitest";
import {
  flattenPgArray,
  PgArrayParseError,
  parseEwkbPoint,
  parseFloatValue,
  parseInstant,
  parseInt64,
  parsePgArray,
  parsePoint,
  UnrepresentableValue,
} from "../../src/documents/index.js";
import { documentValuesEqual, parseJson, serializeDocument } from "../../src/json/codec.js";

describe("parsePgArray", () => {
  it.each([
    ["{}", []],
    ["{1,2,3}", ["1", "2", "3"]],
    ['{NULL,null,"NULL",N\\ULL}', [null, null, "NULL", "NULL"]],
    ['{"a,b","q\\"d","b\\\\s",""," x "}', ["a,b", 'q"d', "b\\s", "", " x "]],
    [
      "{{1,2},{3,NULL}}",
      [
        ["1", "2"],
        ["3", null],
      ],
    ],
    ["[0:1]={a,b}", ["a", "b"]],
    ["[1:2][1:1]={{a},{b}}", [["a"], ["b"]]],
    ['{"{x}",{}}', ["{x}", []]],
    ["{ 1 , 2 }", ["1", "2"]],
    ['{"日本語 🎉",é}', ["日本語 🎉", "é"]],
  ])("%s", (text, expected) => {
    expect(parsePgArray(text)).toEqual(expected);
  });

  it("uses the element type's delimiter (box uses ';')", () => {
    expect(parsePgArray("{(1,1),(0,0);(3,3),(2,2)}", ";")).toEqual(["(1,1),(0,0)", "(3,3),(2,2)"]);
  });

  it.each(["", "1,2", "{1,2", '{"a}', "{1}x", "[1:2]{1,2}"])("rejects malformed %j", (text) => {
    expect(() => parsePgArray(text)).toThrow(PgArrayParseError);
  });

  it("flattens in row-major order", () => {
    expect(flattenPgArray([["1", ["2", null]], "3", []])).toEqual(["1", "2", null, "3"]);
  });
});

describe("JSON with exact int64", () => {
  it("keeps integers beyond 2^53 as bigint, smaller ones as numbers", () => {
    expect(
      parseJson('{"a":9007199254740991,"b":9007199254740993,"c":-9223372036854775808}'),
    ).toEqual({
      a: 9007199254740991,
      b: 9007199254740993n,
      c: -9223372036854775808n,
    });
    // fractions and exponents are floats; digits inside strings are strings
    expect(parseJson('[12345678901234567.5,1e400,"12345678901234567890",0]')).toEqual([
      12345678901234568,
      Number.POSITIVE_INFINITY,
      "12345678901234567890",
      0,
    ]);
  });

  it("decodes escapes and nesting in the exact path like JSON.parse", () => {
    const text =
      '{"s":"q\\"\\\\\\u00e9\\n","n":[{"x":null,"t":true,"f":false}],"big":12345678901234567890}';
    const v = parseJson(text) as Record<string, unknown>;
    expect(v.s).toBe('q"\\é\n');
    expect(v.n).toEqual([{ x: null, t: true, f: false }]);
    expect(v.big).toBe(12345678901234567890n);
    expect(Object.getPrototypeOf(parseJson('{"__proto__":{"p":1},"k":12345678901234567890}'))).toBe(
      Object.prototype,
    );
  });

  it.each(['{"a":1', '{"a" 1}', "[1,]x", '"abc', "tru"])("rejects %j", (text) => {
    expect(() => parseJson(`${text} 12345678901234567`)).toThrow(SyntaxError);
  });

  it("serializes bigint as raw digits and round-trips", () => {
    const doc = {
      id: "1",
      n: 9223372036854775807n,
      a: [1, -9223372036854775808n],
      o: { s: 'x"y' },
    };
    const line = serializeDocument(doc);
    expect(line).toBe(
      '{"id":"1","n":9223372036854775807,"a":[1,-9223372036854775808],"o":{"s":"x\\"y"}}',
    );
    expect(parseJson(line)).toEqual(doc);
    expect(serializeDocument({ id: "2", n: 5 })).toBe('{"id":"2","n":5}');
  });

  it("compares numbers and bigints by value, ignoring key order", () => {
    expect(documentValuesEqual({ a: 1n, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(documentValuesEqual({ a: 1 }, { a: 1, b: null })).toBe(false);
    expect(documentValuesEqual([1.5], [1n])).toBe(false);
    expect(documentValuesEqual({ a: "1" }, { a: 1 })).toBe(false);
  });
});

describe("scalar parsers", () => {
  it("int8 stays a number up to 2^53-1", () => {
    expect(parseInt64("9007199254740991")).toBe(9007199254740991);
    expect(parseInt64("-9007199254740992")).toBe(-9007199254740992n);
    expect(parseInt64("42")).toBe(42);
  });

  it.each(["NaN", "Infinity", "-Infinity", `1${"0".repeat(400)}`])(
    "float %s is unrepresentable",
    (t) => {
      expect(() => parseFloatValue(t)).toThrow(UnrepresentableValue);
    },
  );

  it.each([
    ["2024-02-29", "date", Date.UTC(2024, 1, 29), "2024-02-29"],
    ["1969-12-31 23:59:59.9995", "timestamp", -1, "1969-12-31T23:59:59.9995"],
    [
      "2024-01-01 00:00:00-03:30",
      "timestamptz",
      Date.UTC(2024, 0, 1, 3, 30),
      "2024-01-01T03:30:00Z",
    ],
    ["1900-01-01 00:19:32+00:19:32", "timestamptz", Date.UTC(1900, 0, 1), "1900-01-01T00:00:00Z"],
    ["0001-01-01 00:00:00+00 BC", "timestamptz", -62167219200000, "0000-01-01T00:00:00Z"],
    ["0099-06-01", "date", -59029948800000, "0099-06-01"],
    ["12345-01-01 00:00:00", "timestamp", 327403382400000, "+012345-01-01T00:00:00"],
  ] as const)("%s (%s)", (text, kind, ms, iso) => {
    expect(parseInstant(text, kind)).toEqual({ ms, iso });
  });

  it.each(["infinity", "-infinity", "294276-12-31 23:59:59.999999", "01/02/2024"])(
    "%s is unrepresentable",
    (t) => {
      expect(() => parseInstant(t, "timestamp")).toThrow(UnrepresentableValue);
    },
  );

  it("point (x,y) becomes [lat=y, lng=x]", () => {
    expect(parsePoint("(13.4,52.5)")).toEqual([52.5, 13.4]);
    expect(() => parsePoint("(1,95)")).toThrow(UnrepresentableValue);
  });

  it("EWKB points in SRID 4326 become geopoints", () => {
    // SELECT 'SRID=4326;POINT(13.4 52.5)'::geometry, little and big endian, with and without SRID, with Z
    const le = "0101000020E6100000CDCCCCCCCCCC2A400000000000404A40";
    const be = "0020000001000010E6402ACCCCCCCCCCCD404A400000000000";
    const noSrid = "0101000000CDCCCCCCCCCC2A400000000000404A40";
    const z = "01010000A0E6100000CDCCCCCCCCCC2A400000000000404A400000000000002440";
    for (const hex of [le, be, noSrid, z]) expect(parseEwkbPoint(hex)).toEqual([52.5, 13.4]);
    const srid3857 = "0101000020110F0000CDCCCCCCCCCC2A400000000000404A40";
    expect(() => parseEwkbPoint(srid3857)).toThrow(/SRID 3857/);
    const line =
      "0102000020E610000002000000000000000000000000000000000000000000000000000000000000000000F03F";
    expect(() => parseEwkbPoint(line)).toThrow(/not a POINT/);
    expect(() => parseEwkbPoint("zz")).toThrow(UnrepresentableValue);
  });
});
