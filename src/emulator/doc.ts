/** Helpers for stored documents (plain JSON objects). */

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Returns `obj` with keys in alphabetical order, recursively, like Typesense's JSON library
 * stores and returns documents. Objects that are already ordered are returned as is.
 */
export function sortKeys(obj: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(obj);
  let sorted = true;
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      sorted = false;
      break;
    }
  }
  let nestedChange = false;
  for (const k of keys) {
    const v = obj[k];
    if (isPlainObject(v) && sortKeys(v) !== v) nestedChange = true;
  }
  if (sorted && !nestedChange) return obj;
  const out: Record<string, unknown> = {};
  for (const k of sorted ? keys : keys.sort()) {
    const v = obj[k];
    out[k] = isPlainObject(v) ? sortKeys(v) : v;
  }
  return out;
}

/**
 * Reads a field, following dots into nested objects when the collection allows it.
 * Through an array of objects the path reads every element, flattened into one
 * array (Typesense: `variants.color` of an object[] field is the colors of all variants).
 */
export function readField(doc: Record<string, unknown>, name: string, nested: boolean): unknown {
  const direct = doc[name];
  if (direct !== undefined || !nested || !name.includes(".")) return direct;
  return readPath(doc, name.split("."), 0);
}

function readPath(cur: unknown, parts: readonly string[], i: number): unknown {
  if (i === parts.length) return cur;
  if (Array.isArray(cur)) {
    const out: unknown[] = [];
    for (const el of cur) {
      const v = readPath(el, parts, i);
      if (Array.isArray(v)) out.push(...v);
      else if (v !== undefined) out.push(v);
    }
    return out;
  }
  if (!isPlainObject(cur)) return undefined;
  return readPath(cur[parts[i]!], parts, i + 1);
}
