import type pg from "pg";
import {
  type CdcStreamRecord,
  selectCdcStream,
  selectCdcStreams,
} from "../db/repositories/cdc-streams.js";
import type { ClientScope } from "./client-scope.js";
import { NotFoundError } from "./errors.js";

export type { CdcStreamRecord } from "../db/repositories/cdc-streams.js";

/** Read-only: the CDC streams write these rows; the API only reports them. */
export async function listCdcStreams(
  pool: pg.Pool,
  scope: ClientScope,
): Promise<CdcStreamRecord[]> {
  return selectCdcStreams(pool, scope);
}

/** A client outside the scope has no stream for the caller: the same 404 as an unknown one. */
export async function getCdcStream(
  pool: pg.Pool,
  clientName: string,
  scope: ClientScope,
): Promise<CdcStreamRecord> {
  const row = await selectCdcStream(pool, clientName, scope);
  if (!row) throw new NotFoundError(`no CDC stream for source client "${clientName}"`);
  return row;
}
