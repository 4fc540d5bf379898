import type { JobDocuments } from "../documents/index.js";
import { CollectionNotOwnedError } from "../typesense/index.js";
import type { AttemptEnv } from "./context.js";

/** A failure that ends the run (as opposed to an interruption, which leaves it open). */
export class RunFailure extends Error {
  override readonly name = "RunFailure";
}

/**
 * Creates the collection from the mapping or adds the fields the table gained
 * (typesense/ ensureCollection). A field whose type differs fails the run with
 * a message naming it: changing a type drops data, which is the operator's call.
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
  const name = ctx.job.collectionName;
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
    throw new RunFailure(
      `collection "${name}" does not match the table: ${list}; drop or recreate the collection (or exclude the column)`,
    );
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
