import type {
  CallOptions,
  CollectionSummary,
  EnsureCollectionResult,
  EnsureOptions,
  TypeConflict,
  TypesenseBackend,
} from "./backend-types.js";
import { CollectionNotOwnedError, ownerMark, ownershipOf } from "./collection-owner.js";
import { TypesenseError } from "./errors.js";
import type { CollectionSchema, TypesenseField } from "./types.js";

/**
 * Makes the collection match `desired` as far as it safely can: create it when
 * missing (with the owner's mark); add fields that are missing remotely (all
 * our fields are optional, so existing documents stay valid); report fields
 * whose type changed. Remote fields absent from `desired` (dropped columns,
 * nested sub-fields Typesense derived from object fields) are left alone.
 *
 * Ownership comes first: an existing collection that is not the owner's
 * throws CollectionNotOwnedError before anything is PATCHed, unless
 * `owner.adopt`, in which case the mark is written BEFORE any field or
 * document: a crash in between leaves a marked collection and the flag that
 * allowed it, never a collection we changed without marking it.
 */
export async function ensureCollection(
  backend: Pick<
    TypesenseBackend,
    "getCollection" | "createCollection" | "patchCollectionFields" | "patchCollectionMetadata"
  >,
  desired: CollectionSchema,
  options: EnsureOptions,
): Promise<EnsureCollectionResult> {
  const { owner, ...call } = options;
  const marked = { ...desired, metadata: { ...desired.metadata, ...ownerMark(owner.jobId) } };
  let existing = await backend.getCollection(desired.name, call);
  if (!existing) {
    try {
      await backend.createCollection(marked, call);
      return { created: true, adopted: false, addedFields: [], typeConflicts: [] };
    } catch (err) {
      // Another instance created it between our GET and POST: check and compare instead.
      if (!(err instanceof TypesenseError && err.status === 409)) throw err;
      existing = await backend.getCollection(desired.name, call);
      if (!existing) throw err;
    }
  }
  const adopted = await claim(backend, existing, owner, call);
  const { toAdd, typeConflicts } = compareFields(existing, desired);
  if (toAdd.length > 0) await backend.patchCollectionFields(desired.name, toAdd, call);
  return { created: false, adopted, addedFields: toAdd.map((f) => f.name), typeConflicts };
}

/** Throws unless the collection is the owner's; with `adopt`, marks it. True when it adopted. */
async function claim(
  backend: Pick<TypesenseBackend, "patchCollectionMetadata">,
  existing: CollectionSummary,
  owner: EnsureOptions["owner"],
  call: CallOptions,
): Promise<boolean> {
  const own = ownershipOf(existing, owner.jobId);
  if (own.kind === "owned" || own.kind === "missing") return false;
  if (!owner.adopt) throw new CollectionNotOwnedError(existing.name, own);
  // Typesense replaces metadata as a whole: keep the keys someone else put there.
  const meta = (existing.metadata ?? {}) as Record<string, unknown>;
  await backend.patchCollectionMetadata(
    existing.name,
    { ...meta, ...ownerMark(owner.jobId) },
    call,
  );
  return true;
}

function compareFields(
  existing: CollectionSummary,
  desired: CollectionSchema,
): { toAdd: TypesenseField[]; typeConflicts: TypeConflict[] } {
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
  return { toAdd, typeConflicts };
}
