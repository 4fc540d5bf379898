import type pg from "pg";
import type { RunStage } from "./runs.js";

/*
 * The run-scoped snapshot's reads: every document id of the table, in id
 * order, as (run_id, seq, doc_id) rows of typesense_sync_run_manifest_rows
 * (one partition per run, sql/005), built by manifest-build.ts.
 */

/**
 * What the manifest statements need of a job's table and id column, as plain
 * values (documents/' DocumentMapper has this shape: callers pass their
 * mapper). db/ sits below documents/, so it takes these, not the mapper.
 */
export interface ManifestIdSource {
  /** The source table (quoted here with db/sql-text.ts). */
  readonly table: { readonly schema: string; readonly table: string };
  /** The id column as SQL (a quoted identifier). */
  readonly idColumnSql: string;
  /** typeName: the text -> id cast of a resume; outputFunction: the id's text. */
  readonly idColumn: { readonly typeName: string; readonly outputFunction: string };
}

/** SQL text of the document id as the mapper produces it (the column's output text). */
export function idTextSql(mapper: ManifestIdSource): string {
  return `pg_catalog.textin(${mapper.idColumn.outputFunction}(${mapper.idColumnSql}))`;
}

/**
 * Records the catalog estimate as the run's provisional total
 * (progress_total_kind = estimated; unknown when the table was never analyzed)
 * and enters `stage` (the engine's run-stage machine: the manifest stage).
 */
export async function recordEstimate(
  control: pg.Pool,
  runId: string,
  estimatedRows: number,
  stage: RunStage,
): Promise<void> {
  const known = estimatedRows > 0;
  await control.query(
    `update typesense_sync_runs
        set progress_total_kind = $2, manifest_total_rows = $3, stage = $4,
            stage_message = 'building manifest', updated_at = now()
      where id = $1`,
    [runId, known ? "estimated" : "unknown", known ? Math.round(estimatedRows) : null, stage],
  );
}

/** Rows the run's manifest holds (committed chunks): its highest seq + 1, 0 when none. */
export async function manifestRowCount(control: pg.Pool, runId: string): Promise<number> {
  const r = await control.query<{ n: string | null }>(
    "select max(seq) + 1 as n from typesense_sync_run_manifest_rows where run_id = $1",
    [runId],
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** The ids of manifest seqs [fromSeq, fromSeq + size), in seq order. */
export async function readManifestWindow(
  control: pg.Pool,
  runId: string,
  fromSeq: number,
  size: number,
): Promise<{ seq: number; docId: string }[]> {
  // Not a named statement: a generic plan of a query on the partitioned table
  // would lock every run's partitions on each execution; a custom plan prunes
  // to this run's partition before locking.
  // The ids come as ONE JSON array (json_agg): one native JSON.parse instead
  // of one protocol row and one parsed result row per id.
  const r = await control.query<{
    lo: string | null;
    hi: string | null;
    n: string;
    ids: string | null;
  }>(
    `select min(seq) as lo, max(seq) as hi, count(*) as n, json_agg(doc_id order by seq)::text as ids
       from typesense_sync_run_manifest_rows
      where run_id = $1 and seq >= $2 and seq < $3`,
    [runId, fromSeq, fromSeq + size],
  );
  const row = r.rows[0];
  if (!row || row.ids === null || row.lo === null) return [];
  const ids = JSON.parse(row.ids) as string[];
  const lo = Number(row.lo);
  // seqs are dense: n rows from lo to hi (checked, not assumed)
  if (ids.length !== Number(row.n) || Number(row.hi) - lo + 1 !== ids.length) {
    throw new Error(
      `manifest of run ${runId} is not dense in seqs ${fromSeq}..${fromSeq + size - 1}`,
    );
  }
  return ids.map((docId, i) => ({ seq: lo + i, docId }));
}

/**
 * Serves manifest windows from reads of `windowsPerRead` windows at a time
 * (one control-DB round trip per read instead of per window). The manifest of
 * a run is immutable once complete, so a window served from the buffer is the
 * same as a fresh read of its seqs. Windows are asked for in ascending order.
 */
export function createManifestCursor(
  control: pg.Pool,
  runId: string,
  windowSize: number,
  windowsPerRead: number,
  /**
   * A manifest still being built (manifest-build.ts): a read covers only
   * committed windows (at least one, waited for). Omitted: complete.
   */
  building?: {
    readonly built: number;
    readonly total: number | null;
    waitFor(seq: number): Promise<void>;
  },
): (fromSeq: number) => Promise<{ seq: number; docId: string }[]> {
  // The last read, as a promise: concurrent calls (read-ahead) share it, and
  // each call slices the rows of the read it looked at, never a newer one.
  let cache: { from: number; end: number; rows: Promise<{ seq: number; docId: string }[]> } = {
    from: 0,
    end: 0,
    rows: Promise.resolve([]),
  };
  return async (fromSeq) => {
    const toSeq = fromSeq + windowSize;
    if (fromSeq < cache.from || toSeq > cache.end) {
      let n = windowSize * Math.max(1, windowsPerRead);
      if (building && building.total === null && building.built < fromSeq + n) {
        // the committed whole windows, or else the next one once it is committed
        n = Math.max(windowSize, Math.floor((building.built - fromSeq) / windowSize) * windowSize);
      }
      const ready = building ? building.waitFor(fromSeq + n) : Promise.resolve();
      cache = {
        from: fromSeq,
        end: fromSeq + n,
        rows: ready.then(() => readManifestWindow(control, runId, fromSeq, n)),
      };
      cache.rows.catch(() => {}); // observed by the awaiting call(s)
    }
    const read = cache;
    const rows = await read.rows;
    // seqs are dense (0..total-1), so offsets in the read are seq - read.from
    const out = rows.slice(fromSeq - read.from, toSeq - read.from);
    if (out.length > 0 && (out[0]!.seq !== fromSeq || out[out.length - 1]!.seq >= toSeq)) {
      throw new Error(`manifest of run ${runId} is not dense at seq ${fromSeq}`);
    }
    return out;
  };
}
