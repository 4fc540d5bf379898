import { describeTable, type Queryable, type TableInfo } from "../catalog/index.js";
import {
  createDocumentMapper,
  type DocumentMapper,
  type DocumentMapperJob,
} from "./document-mapper.js";

/** Where a job's rows live, and the job's mapping fields. */
export interface JobSource extends DocumentMapperJob {
  schema: string;
  table: string;
}

/**
 * The table as it is now and the job's mapping over it: the step every reader
 * of one job's rows starts with (a full-sync attempt, a dead-letter retry).
 * Read fresh each time, so a column added or dropped since is seen.
 */
export async function describeAndMap(
  source: Queryable,
  job: JobSource,
): Promise<{ table: TableInfo; mapper: DocumentMapper }> {
  const table = await describeTable(source, { schema: job.schema, table: job.table });
  return { table, mapper: createDocumentMapper(table, job) };
}
