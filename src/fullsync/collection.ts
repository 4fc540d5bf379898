import { LeaseLostError } from "../db/repositories/lease.js";
import { keepPlainCollection } from "../db/repositories/rebuilds.js";
import type { RebuildCause } from "../db/repositories/runs.js";
import type { JobDocuments } from "../documents/index.js";
import {
  CollectionNotOwnedError,
  ownerMark,
  ownershipOf,
  type TypesenseBackend,
} from "../typesense/index.js";
import type { AttemptEnv } from "./context.js";
import { aliasCallsOf } from "./rebuild.js";
import { versionCollectionName, versionMetadata } from "./rebuild-stage.js";

/** A failure that ends the run (as opposed to an interruption, which leaves it open). */
export class RunFailure extends Error {
  override readonly name: string = "RunFailure";
}

/**
 * The live collection's schema differs from what the job renders (a changed
 * column type): the run fails with it, and its finish queues a rebuild with
 * `rebuild` as its cause (engine.ts fail; docs/full-sync.md "Rebuild triggers").
 */
export class SchemaMismatchFailure extends RunFailure {
  override readonly name = "SchemaMismatchFailure";
  constructor(
    message: string,
    readonly rebuild: RebuildCause,
  ) {
    super(message);
  }
}

/**
 * Creates the collection from the mapping or adds the fields the table gained
 * (typesense/ ensureCollection). A field whose type differs fails the run with
 * a message naming it (mismatchFailure): Typesense cannot change a live
 * field's type, so a new version is built beside the live one (a rebuild).
 *
 * Ownership: this is the first call of a run attempt that touches the
 * collection, so a collection that exists without the job's mark (and the
 * job may not adopt it) fails the run here, before any window, backup,
 * sweep or rollback could write in it.
 *
 * Returns whether the collection is empty now (and ids are unique): then no
 * window needs pre-images and the orphan sweep has nothing to find.
 */
export async function prepareCollection(ctx: AttemptEnv, mapper: JobDocuments): Promise<boolean> {
  const live = ctx.job.liveVersion ?? null;
  if (live !== null) await ensureLiveVersion(ctx, mapper, live);
  // from here on the job's collection is written by its name: the alias, or a wave-1 plain collection
  const name = ctx.job.collectionName;
  // before any write: the live version holds the previous design (sql/017)
  if (ctx.job.rebuildRequired && !ctx.closeRun) {
    throw mismatchFailure(
      ctx,
      name,
      `the job's spec changed and the collection still holds the previous design (${ctx.job.rebuildRequired})`,
      "spec_change",
    );
  }
  const owner = { jobId: ctx.job.id, adopt: ctx.job.adoptExistingCollection };
  const ensured = await ctx
    .retry("ensure collection", () =>
      ctx.backend.ensureCollection(mapper.collectionSchema(name), { owner }),
    )
    .catch((e: unknown) => {
      if (e instanceof CollectionNotOwnedError) throw new RunFailure(e.message);
      throw e;
    });
  if (ensured.adopted) {
    ctx.log.warn({ collection: name }, "existing collection adopted: marked as this job's");
  }
  if (ensured.typeConflicts.length > 0) {
    const list = ensured.typeConflicts
      .map(
        (c) =>
          `field "${c.field}" is ${c.existing} in the collection but ${c.desired} in the table`,
      )
      .join("; ");
    throw mismatchFailure(ctx, name, list);
  }
  if (ensured.created || ensured.addedFields.length > 0) {
    ctx.log.info(
      { created: ensured.created, addedFields: ensured.addedFields },
      "collection schema updated",
    );
  }
  const remote = await ctx.retry("read collection", () => ctx.backend.getCollection(name));
  return mapper.idIsUnique && remote?.num_documents === 0;
}

/**
 * The failure of a run whose collection does not match the table (`list`
 * names each field). Nothing was written to the collection yet (this is the
 * attempt's first write), so the live version is untouched.
 * - a rebuild's build (its own version, `closeRun` set): a plain failure; the
 *   rebuild discards the version it built (never a rebuild of a rebuild)
 * - a CDC job too (CDC dual-writes during its build, docs/cdc.md): CDC's
 *   writes of the changed column into the live version fail there until the swap
 * - otherwise: SchemaMismatchFailure, whose finish queues a rebuild with
 *   reason `schema_mismatch` (or `spec_change`: the job's rebuild_required
 *   marker, a spec-change rebuild not swapped yet) in the same transaction
 *   as the failed close
 */
function mismatchFailure(
  ctx: AttemptEnv,
  name: string,
  list: string,
  reason: "schema_mismatch" | "spec_change" = "schema_mismatch",
): RunFailure {
  const what =
    reason === "spec_change"
      ? `collection "${name}": ${list}`
      : `collection "${name}" does not match the table: ${list}`;
  if (ctx.closeRun) return new RunFailure(`${what}; the rebuild discards this version`);
  return new SchemaMismatchFailure(
    `${what}; a rebuild (reason ${reason}) is queued: it builds a new version ${reason === "spec_change" ? "of the new design" : "with the table's types"} beside the live one and swaps it in`,
    { reason, detail: list },
  );
}

/**
 * A job on an alias (live_version set; new jobs start at v1, docs/full-sync.md
 * "Rebuilds"): makes sure the alias `<collection_name>` names an existing
 * `<collection_name>__v<live>` before anything is written through it.
 *
 * Order: the version is created (with the job's mark, then its version and
 * spec hash) BEFORE the alias is pointed at it, so the alias never names a
 * missing or foreign collection; a crash in between leaves a marked version
 * that the next run reuses (ensureCollection finds it owned). An alias that
 * names an existing collection is left alone: repointing it is the rebuild
 * swap's job. A dangling alias (its collection deleted) is repointed to the
 * recreated version, never written through (Typesense would create a plain
 * collection under the alias's name). A collection holding the alias's name
 * fails the run: Typesense cannot alias a taken name, and this never deletes it.
 */
async function ensureLiveVersion(ctx: AttemptEnv, mapper: JobDocuments, live: number) {
  const alias = ctx.job.collectionName;
  const aliases = aliasCallsOf(ctx.backend);
  if (!aliases) {
    throw new RunFailure(
      `collection "${alias}" is an alias (live_version ${live}) but the Typesense backend has no alias calls`,
    );
  }
  const current = await ctx.retry("read alias", () => aliases.getAlias(alias));
  if (current) {
    const target = current.collection_name;
    if (await ctx.retry("read collection", () => ctx.backend.getCollection(target))) return;
  } else {
    const plain = await ctx.retry("read collection", () => ctx.backend.getCollection(alias));
    if (plain && ownershipOf(plain, ctx.job.id).kind === "owned") {
      // the job's own plain collection (CDC creates a missing one by the job's
      // name before the first run): kept plain, no alias, until a rebuild
      const kept = await keepPlainCollection(ctx.control, {
        jobId: ctx.job.id,
        leaseToken: ctx.lease.token,
      });
      if (!kept) throw new LeaseLostError(ctx.job.id);
      ctx.log.warn({ collection: alias }, "the job's own plain collection kept (no alias)");
      return;
    }
    if (plain) {
      throw new RunFailure(
        `collection "${alias}" exists as a collection, so it cannot be this job's alias (live_version ${live}); rename or delete it, or create the job with adopt_existing_collection to keep writing it as a plain collection`,
      );
    }
  }
  const physical = versionCollectionName(alias, live);
  const owner = { jobId: ctx.job.id, adopt: false };
  await ctx
    .retry("ensure collection", () =>
      ctx.backend.ensureCollection(mapper.collectionSchema(physical), { owner }),
    )
    .catch((e: unknown) => {
      if (e instanceof CollectionNotOwnedError) throw new RunFailure(e.message);
      throw e;
    });
  const patch = (ctx.backend as Partial<Pick<TypesenseBackend, "patchCollectionMetadata">>)
    .patchCollectionMetadata;
  if (patch) {
    const meta = versionMetadata(ctx.job, live, ownerMark(ctx.job.id));
    await ctx.retry("mark version", () => patch.call(ctx.backend, physical, meta));
  }
  await ctx.retry("upsert alias", () => aliases.upsertAlias(alias, physical));
  ctx.log.info({ alias, collection: physical }, "alias created on the job's live version");
}
