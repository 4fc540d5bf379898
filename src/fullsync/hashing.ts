import { clearHashes } from "../db/repositories/doc-hashes.js";
import { createChangedReader, type ReadChanged } from "../documents/changed-read.js";
import type { DocumentMapper, JobDocuments } from "../documents/index.js";
import { renderingQualifies } from "../documents/window-reader.js";
import type { AttemptEnv } from "./context.js";

/**
 * Whether this attempt keeps content hashes (docs/full-sync.md "Content
 * hashes"), decided once per attempt after the collection was prepared:
 * only with the engine's contentHashes on, a job without a document spec whose mapper Postgres renders, on a
 * qualifying server, with a backend that imports raw lines, and unique ids.
 *
 * The job's claims on the collection are deleted first when the collection is
 * empty now (whatever claimed a doc in it is wrong: it was recreated or
 * emptied outside the run) and when this attempt keeps none (its writes would
 * not maintain them). Both before any window writes.
 */
export async function prepareHashing(
  env: AttemptEnv,
  mapper: JobDocuments,
  collectionEmptyAtStart: boolean,
): Promise<ReadChanged | null> {
  const reader = await hashReader(env, mapper);
  if (collectionEmptyAtStart || !reader) {
    await clearHashes(env.control, env.job.id, env.job.collectionName);
  }
  return reader;
}

async function hashReader(env: AttemptEnv, mapper: JobDocuments): Promise<ReadChanged | null> {
  if (!env.contentHashes) return null;
  if (env.job.document || !env.renderDocuments || !env.backend.importJsonLines) return null;
  if (!mapper.idIsUnique || !("documentSql" in mapper)) return null;
  const reader = createChangedReader(mapper as DocumentMapper, env.source);
  if (!reader || !(await renderingQualifies()(env.source))) return null;
  return reader;
}
