import type {
  CallOptions,
  EnsureCollectionResult,
  TypeConflict,
  TypesenseBackend,
} from "./backend-types.js";
import { TypesenseError } from "./errors.js";
import type { CollectionSchema, TypesenseField } from "./types.js";

/**
 * Makes the collection match `desired` as far as it safely can: create it when
 * missing; add fields that are missing remotely (all our fields are optional,
 * so existing documents stay valid); report fields whose type changed. Remote
 * fields absent from `desired` (dropped columns, nested sub-fields Typesense
 * derived from object fields) are left alone.
 */
export async function ensureCollection(
  backend: Pick<TypesenseBackend, "getCollection" | "createCollection" | "patchCollectionFields">,
  desired: CollectionSchema,
  options: CallOptions = {},
): Promise<EnsureCollectionResult> {
  let existing = await backend.getCollection(desired.name, options);
  if (!existing) {
    try {
      await backend.createCollection(desired, options);
      return { created: true, addedFields: [], typeConflicts: [] };
    } catch (err) {
      // Another instance created it between our GET and POST: compare instead.
      if (!(err instanceof TypesenseError && err.status === 409)) throw err;
      existing = await backend.getCollection(desired.name, options);
      if (!existing) throw err;
    }
  }
  const remote = new Map(existing.fields.map((f) => [f.name, f]));
  const nestedOff = existing.enable_nested_fields !== true;
  const toAdd: TypesenseField[] = [];
  const typeConflicts: TypeConflict[] = [];
  for (const f of desired.fields) {
    const r = remote.get(f.name);
    if (r) {
      if (r.type !== f.type)
        typeConflicts.push({ field: f.name, existing: r.type, desired: f.type });
      continue;
    }
    // Object fields need enable_nested_fields, which cannot be switched on later.
    if (nestedOff && (f.type === "object" || f.type === "object[]")) {
      typeConflicts.push({ field: f.name, existing: "(nested fields disabled)", desired: f.type });
      continue;
    }
    toAdd.push(f);
  }
  if (toAdd.length > 0) await backend.patchCollectionFields(desired.name, toAdd, options);
  return { created: false, addedFields: toAdd.map((f) => f.name), typeConflicts };
}
