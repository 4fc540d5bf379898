/*
 * The job's document spec (issue 15): resolution against the real source
 * catalog (resolve.ts), the ONE rendering statement (render.ts), the
 * collection schema and the preview's sample. docs/documents.md.
 */
export { DocumentSpecError } from "./errors.js";
export { renderSpecSql, type SpecSql } from "./render.js";
export { type ResolveOptions, resolveDocumentSpec } from "./resolve.js";
export { replicaIdentityWarnings, type SampleResult, sampleDocuments } from "./sample.js";
export { sqlFragmentProblem } from "./sql-fragment.js";
export type {
  ResolvedDocument,
  ResolvedField,
  ResolvedRelation,
  SpecJob,
  SpecProblem,
} from "./types.js";
export {
  createSpecWindowReader,
  describeSpecJob,
  type JobDocuments,
  specDocuments,
} from "./window.js";
