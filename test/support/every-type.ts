/**
 * A table with every column type the mapper handles, with edge values. The one
 * definition used by test/catalog (rowToDocument over every type, equal to the
 * pgoutput path) and test/cdc (wal2json and pgoutput decoders agree).
 */
export const EVERY_TYPE_DDL = `
  create extension if not exists citext;
  create type mood as enum ('happy', 'it''s, "complicated"');
  create domain posint as int4 check (value > 0);
  create table every_type (
    id int8 primary key,
    i2 int2, i4 int4, i8 int8, num numeric, f4 float4, f8 float8, b bool,
    t text, vc varchar(20), ch char(5), ct citext, u uuid, nm name, m mood,
    d date, ts timestamp, tstz timestamptz,
    j json, jb jsonb, pt point,
    i4a int4[], ta text[], i8a int8[], f8a float8[], tsa timestamptz[], jba jsonb[], i4aa int4[][],
    iv interval, by bytea, ip inet, tv tsvector, rng int4range, bx box[],
    dom posint, doma posint[],
    gen int4 generated always as (i2::int4 * 2) stored
  );
  create unique index every_type_u on every_type (u);
`;

export const BIG_TEXT = `${"ab ✓ ".repeat(200_000)}end`; // > 1 MB in UTF-8, TOASTed

/** Five rows in one transaction: nulls, extremes, arrays, a 1 MB TOAST value. */
export const EVERY_TYPE_ROWS = `
  begin;
  insert into every_type (id) values (1);
  insert into every_type values (2,
    32767, -2147483648, 9223372036854775807, 12345678901234567890.123456789, 1.5, 0.1, true,
    'héllo wörld ✓ 日本語 🎉', 'short', 'ab', 'MiXeD', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'pg_name',
    'it''s, "complicated"',
    '2024-02-29', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.999999+05:30',
    '{"a": [1, 2, {"b": null}], "big": 12345678901234567890}',
    '{"nested": {"deep": {"x": "y"}}, "arr": [true, false]}', '(13.4,52.5)',
    '{1,NULL,3}', array['a,b', 'quote"d', 'back\\slash', null, '', 'NULL', ' spaced ', '{x}'],
    '{9223372036854775807,-9223372036854775808,1}', '{1.5,NaN,Infinity}',
    array['2024-01-01 00:00:00+00', '1969-12-31 23:59:59.9995+00', 'infinity']::timestamptz[],
    array['{"k": 1}', '{"k": [2]}']::jsonb[], '{{1,2},{3,4}}',
    '1 year 2 mons 3 days 04:05:06', '\\xdeadbeef', '192.168.0.1', 'a fat cat', int4range(1, 10),
    array[box '((1,1),(0,0))', box '((3,3),(2,2))'], 5, '{1,2}');
  insert into every_type (id, i2, i4, i8, num, f4, f8, b, t, vc, d, ts, tstz, j, jb, pt, i4a, ta, tsa, jba)
    values (3, -32768, 2147483647, -9223372036854775808, 'NaN', 'Infinity', '-Infinity', false,
    $big$${BIG_TEXT}$big$, 'emoji 🎉', 'infinity', '-infinity', '1900-01-01 00:00:00+00',
    '[1, 2, 3]', '"just a string"', '(200,100)', '{}', '{}', '{}', '{}');
  insert into every_type (id, num, f8, d, ts, tstz, ch)
    values (4, ('1' || repeat('0', 400))::numeric, '-0', '0044-03-15 BC', '294276-12-31 23:59:59.999999',
    '2000-01-01 00:00:00.5-03:30', 'abcde');
  insert into every_type (id, num, j) values (5, '-Infinity', '{"n": -12345678901234567890, "s": "\\u00e9"}');
  commit;
`;
