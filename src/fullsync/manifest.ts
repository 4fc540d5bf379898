import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { type DocumentMapper, quoteIdent } from "../catalog/index.js";

/**
 * The run-scoped snapshot: every document id of the table, in id order, as
 * (run_id, seq, doc_id) rows of typesense_sync_run_manifest_rows, which is
 * partitioned by run (sql/005): each run's manifest is its own partition.
 *
 * Built with one COPY pipe: `COPY (SELECT ...) TO STDOUT` on the source streams
 * straight into `COPY ... FROM STDIN` on the control DB, so neither side buffers
 * the table and no row-by-row INSERT runs. Text format on both ends: the
 * escaping COPY writes is the escaping COPY reads. The rows go into a fresh,
 * unindexed partition (COPY FREEZE), whose primary key is then built once from
 * the loaded rows, and the partition is attached whole: cheaper than one index
 * insert per id into a shared table (sql/005 has the numbers).
 *
 * Safe ordering: the partition, its rows, its attachment and
 * `manifest_complete = true` commit in ONE control-DB transaction (which also
 * checks that the run exists: the table has no foreign key, sql/003). A crash
 * mid-COPY leaves no partition and no partial manifest; the resumed run
 * rebuilds it. Windows start only once manifest_complete is true.
 */
export interface ManifestOptions {
  control: pg.Pool;
  source: pg.Pool;
  runId: string;
  mapper: DocumentMapper;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** SQL text of the document id as the mapper produces it (the column's output text). */
export function idTextSql(mapper: DocumentMapper): string {
  return `pg_catalog.textin(${mapper.idColumn.outputFunction}(${mapper.idColumnSql}))`;
}

export function qualifiedTable(mapper: DocumentMapper): string {
  return `${quoteIdent(mapper.table.schema)}.${quoteIdent(mapper.table.table)}`;
}

/**
 * Records the catalog estimate as the run's provisional total
 * (progress_total_kind = estimated; unknown when the table was never analyzed).
 */
export async function recordEstimate(
  control: pg.Pool,
  runId: string,
  estimatedRows: number,
): Promise<void> {
  const known = estimatedRows > 0;
  await control.query(
    `update typesense_sync_runs
        set progress_total_kind = $2, manifest_total_rows = $3, stage = 'manifest',
            stage_message = 'building manifest', updated_at = now()
      where id = $1`,
    [runId, known ? "estimated" : "unknown", known ? Math.round(estimatedRows) : null],
  );
}

/** Builds the manifest; returns its exact row count (also stored as the run's total). */
export async function buildManifest(opts: ManifestOptions): Promise<number> {
  // COPY cannot take bind parameters; the run id is a uuid we generated, checked anyway.
  if (!UUID_RE.test(opts.runId)) throw new Error(`invalid run id ${opts.runId}`);
  const id = opts.mapper.idColumnSql;
  // NULL ids cannot be documents (rowToDocument rejects them): left out of the snapshot.
  // run_id is not sent per row: the partition's column default fills it in
  const select = `select row_number() over (order by ${id}) - 1, ${idTextSql(opts.mapper)}
                    from ${qualifiedTable(opts.mapper)} where ${id} is not null order by ${id}`;
  const src = await opts.source.connect();
  const dst = await opts.control.connect();
  let srcBroken = false;
  let dstBroken = false;
  try {
    await dst.query("begin");
    try {
      const part = await manifestPartition(dst, opts.runId);
      // a partition can only exist here if this run's manifest was built
      // before: the rebuild replaces it (like deleting its rows)
      await dst.query(`drop table if exists ${part}`);
      await dst.query(`create table ${part} (like typesense_sync_run_manifest_rows including constraints);
        alter table ${part} add check (run_id = '${opts.runId}'::uuid),
          alter column run_id set default '${opts.runId}'::uuid`);
      const reader = src.query(copyTo(`copy (${select}) to stdout`));
      // FREEZE: the partition was created in this transaction (no later hint-bit writes)
      const writer = dst.query(copyFrom(`copy ${part} (seq, doc_id) from stdin (freeze)`));
      try {
        await pipeline(reader, writer);
      } catch (e) {
        srcBroken = true;
        dstBroken = true;
        throw e;
      }
      // The check constraint proves the partition bound: attach skips its scan.
      // The default was only for the load (the parent's column has none).
      await dst.query(`alter table ${part} add primary key (run_id, seq),
          alter column run_id drop default;
        alter table typesense_sync_run_manifest_rows attach partition ${part}
          for values in ('${opts.runId}'::uuid)`);
      const total = writer.rowCount;
      // The manifest rows have no foreign key (sql/003): this UPDATE is the
      // run's existence check, in the same transaction as the rows.
      const marked = await dst.query(
        `update typesense_sync_runs
            set manifest_complete = true, manifest_total_rows = $2, progress_total_kind = 'exact',
                source_row_count = $2, next_manifest_seq = 0, manifest_processed_rows = 0,
                stage_message = $3, updated_at = now()
          where id = $1`,
        [opts.runId, total, `manifest of ${total} ids built`],
      );
      if (marked.rowCount !== 1) throw new Error(`run ${opts.runId} does not exist`);
      await dst.query("commit");
      return total;
    } catch (e) {
      if (!dstBroken) await dst.query("rollback").catch(() => {});
      throw e;
    }
  } finally {
    // A connection whose COPY was interrupted is in an unknown protocol state.
    src.release(srcBroken ? true : undefined);
    dst.release(dstBroken ? true : undefined);
  }
}

/**
 * The schema-qualified name of the run's manifest partition (in the schema of
 * typesense_sync_run_manifest_rows; sql/005 names them the same way).
 */
async function manifestPartition(db: pg.ClientBase, runId: string): Promise<string> {
  const r = await db.query<{ schema: string }>(
    `select n.nspname as schema from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.oid = 'typesense_sync_run_manifest_rows'::regclass`,
  );
  const schema = r.rows[0]!.schema;
  return `${quoteIdent(schema)}.${quoteIdent(`typesense_sync_manifest_${runId.replaceAll("-", "")}`)}`;
}

/** The ids of manifest seqs [fromSeq, fromSeq + size), in seq order. */
export async function readManifestWindow(
  control: pg.Pool,
  runId: string,
  fromSeq: number,
  size: number,
): Promise<{ seq: number; docId: string }[]> {
  const r = await control.query<{ seq: string; doc_id: string }>(
    `select seq, doc_id from typesense_sync_run_manifest_rows
      where run_id = $1 and seq >= $2 and seq < $3 order by seq`,
    [runId, fromSeq, fromSeq + size],
  );
  return r.rows.map((x) => ({ seq: Number(x.seq), docId: x.doc_id }));
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
      const n = windowSize * Math.max(1, windowsPerRead);
      cache = {
        from: fromSeq,
        end: fromSeq + n,
        rows: readManifestWindow(control, runId, fromSeq, n),
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
