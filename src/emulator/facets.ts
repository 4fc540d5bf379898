import { type Collection, readField } from "./collection.js";
import { ApiError } from "./errors.js";
import type { Field } from "./schema.js";
import { tokenize } from "./text.js";

/** Resolves facet_by names; each must be a facet field. Throws 404 with Typesense's text. */
export function parseFacetBy(raw: string | undefined, coll: Collection): Field[] {
  if (raw === undefined || raw.trim() === "") return [];
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((name) => {
      const f = coll.field(name);
      if (!f?.facet) {
        throw new ApiError(404, `Could not find a facet field named \`${name}\` in the schema.`);
      }
      return f;
    });
}

/**
 * facet_counts for the matched docs: per field, value counts (count desc, then value asc),
 * capped at `maxValues`, with stats (`total_values` = distinct values; min/max/sum/avg for
 * numbers). `facetQuery` (`field:prefix`) keeps only values with a token starting with prefix.
 */
export function facetCounts(
  coll: Collection,
  fields: Field[],
  seqs: ArrayLike<number>,
  maxValues: number,
  facetQuery: string | undefined,
): unknown[] {
  const nested = coll.schema.enable_nested_fields;
  let fq: { field: string; prefix: string } | undefined;
  if (facetQuery) {
    const i = facetQuery.indexOf(":");
    if (i > 0) {
      fq = {
        field: facetQuery.slice(0, i).trim(),
        prefix: tokenize(facetQuery.slice(i + 1), coll.tokenizer).join(" "),
      };
    }
  }
  return fields.map((f) => {
    // Counted by raw value (no per-doc string building); stringified once at the end.
    const raw = new Map<unknown, number>();
    const numeric = f.type.startsWith("int") || f.type.startsWith("float");
    const vals = coll.values.get(f.name);
    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i]!;
      const v = vals ? vals[seq] : readField(coll.bySeq[seq]?.doc ?? {}, f.name, nested);
      if (v === null || v === undefined) continue;
      if (Array.isArray(v)) {
        for (const e of v)
          if (e !== null && typeof e !== "object") raw.set(e, (raw.get(e) ?? 0) + 1);
      } else if (typeof v !== "object") {
        raw.set(v, (raw.get(v) ?? 0) + 1);
      }
    }
    const counts = new Map<string, number>();
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let sum = 0;
    let n = 0;
    for (const [v, c] of raw) {
      const key = String(v);
      counts.set(key, (counts.get(key) ?? 0) + c);
      if (typeof v === "number") {
        if (v < min) min = v;
        if (v > max) max = v;
        sum += v * c;
        n += c;
      }
    }
    let entries = [...counts.entries()];
    if (fq && fq.field === f.name && fq.prefix !== "") {
      const p = fq.prefix;
      entries = entries.filter(([value]) =>
        tokenize(value, coll.tokenizer).some((t) => t.startsWith(p)),
      );
    }
    entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const stats: Record<string, number> = { total_values: counts.size };
    if (numeric && n > 0) {
      stats.avg = sum / n;
      stats.max = max;
      stats.min = min;
      stats.sum = sum;
    }
    return {
      counts: entries.slice(0, maxValues).map(([value, count]) => ({
        count,
        highlighted: value,
        value,
      })),
      field_name: f.name,
      sampled: false,
      stats,
    };
  });
}
