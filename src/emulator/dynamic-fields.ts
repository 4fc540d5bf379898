import { type Field, isDynamicField, normalizeField } from "./schema.js";
import { inferType } from "./validate.js";

/** A dynamic (pattern) field of a schema with its name compiled to an anchored regex. */
export interface DynamicField {
  readonly field: Field;
  readonly re: RegExp;
}

/** The dynamic fields of a schema's field list, in schema order (the first match wins). */
export function compileDynamicFields(fields: readonly Field[]): DynamicField[] {
  return fields
    .filter((f) => isDynamicField(f))
    .map((field) => ({ field, re: new RegExp(`^${field.name}$`) }));
}

/**
 * Concrete fields for the keys of `doc` matched only by a dynamic pattern (not yet in the
 * schema, i.e. not in `byName`); a key whose type cannot be resolved, or resolves to an
 * object, gets none.
 */
export function dynamicFieldsFor(
  doc: Record<string, unknown>,
  byName: ReadonlyMap<string, Field>,
  dynamic: readonly DynamicField[],
): Field[] {
  const out: Field[] = [];
  for (const key of Object.keys(doc)) {
    if (key === "id" || byName.has(key)) continue;
    const match = dynamic.find((d) => d.re.test(key));
    if (!match) continue;
    const v = doc[key];
    let type = match.field.type;
    if (type === "auto") type = inferType(v) ?? "";
    else if (type === "string*") type = Array.isArray(v) ? "string[]" : "string";
    if (type === "" || type === "object" || type === "object[]") continue;
    const { name: _n, type: _t, ...props } = match.field;
    out.push(normalizeField({ ...props, name: key, type, optional: true }, false));
  }
  return out;
}
