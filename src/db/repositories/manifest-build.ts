import { once } from "node:events";
import type { Writable } from "node:stream";
import type pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { qualifiedName, quoteIdent, sqlStringLiteral } from "../sql-text.js";
import { isUuid } from "./ids.js";
import { idTextSql, type ManifestIdSource } from "./manifest.js";

/**
 * Builds a run's manifest (every document id of the table, in id order, as
 * (run_id, seq, doc_id) rows of typesense_sync_run_manifest_rows) in committed
 * chunks, so the windows can start on the first chunk while the rest is built.
 *
 *   [fresh] create + attach the run's partition (sql/005), empty, itself
 *      |    partitioned by seq range: one leaf per chunk
 *   source COPY (ONE statement, one snapshot) --> split at row boundaries:
 *      chunk 1: BEGIN; leaf; COPY FREEZE; key; attach; UPDATE run; COMMIT -> onChunk
 *      chunk 2: ... (the source stream waits while a chunk commits)
 *      last:    ... + manifest_complete, exact total, progress_total_kind exact
 *   finishRun (runs.ts) drops the run's partition with its leaves.
 *
 * Safe ordering: a window only reads seqs of committed chunks (waitFor), so a
 * checkpoint never names a seq that a crash could take back. A crash leaves
 * the committed chunks: the resumed run continues the build after the last
 * committed id (a new source snapshot for the rest: rows inserted or deleted
 * in between are handled like changes during any run, by the next run and the
 * orphan sweep) and the windows at their checkpoint. The run row stays the
 * single source of truth: `manifest_complete` turns true only in the
 * transaction of the last chunk.
 *
 * Neither side buffers the table: the source COPY is read with backpressure
 * and written into the control COPY as it comes; NULL ids cannot be
 * documents and are left out.
 */
export interface ManifestBuildOptions {
  control: pg.Pool;
  source: pg.Pool;
  runId: string;
  /** The job's table and id column (the run's DocumentMapper fits). */
  mapper: ManifestIdSource;
  /** Rows the run's manifest already holds (committed by an earlier attempt). */
  builtRows?: number;
  /** Rows of the first chunk (the windows wait for it). Default 10,000. */
  firstChunkRows?: number;
  /** Rows of every later chunk. Default 100,000. */
  chunkRows?: number;
  /** Stops the build (its open chunk rolls back; committed chunks stay). */
  signal?: AbortSignal;
  /** Test hook: after each committed chunk but the last (awaited; the build waits). */
  onChunk?: (built: number) => void | Promise<void>;
}

export class ManifestBuildStopped extends Error {
  override readonly name = "ManifestBuildStopped";
  constructor() {
    super("manifest build stopped");
  }
}

/**
 * Names in the schema of typesense_sync_run_manifest_rows: the run's partition
 * (sql/005 names them alike) and its chunks' leaf partitions (by first seq).
 */
async function manifestNames(
  db: pg.ClientBase,
  runId: string,
): Promise<{ run: string; chunk: (lo: number) => string }> {
  const r = await db.query<{ schema: string }>(
    `select n.nspname as schema from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.oid = 'typesense_sync_run_manifest_rows'::regclass`,
  );
  const schema = quoteIdent(r.rows[0]!.schema);
  const hex = runId.replaceAll("-", "");
  return {
    run: `${schema}.${quoteIdent(`typesense_sync_manifest_${hex}`)}`,
    chunk: (lo) => `${schema}.${quoteIdent(`tsm_${hex}_${lo}`)}`,
  };
}

/** The build itself (startManifestBuild in manifest-progress.ts runs it); resolves with the exact total. */
export async function buildChunks(
  o: ManifestBuildOptions,
  onChunk: (built: number) => void,
): Promise<number> {
  // COPY and DDL take no bind parameters: the run id is a uuid we generated, checked anyway.
  if (!isUuid(o.runId)) throw new Error(`invalid run id ${o.runId}`);
  const first = Math.max(1, o.firstChunkRows ?? 10_000);
  const size = Math.max(1, o.chunkRows ?? 100_000);
  const id = o.mapper.idColumnSql;
  const src = await o.source.connect();
  let dst: pg.PoolClient;
  try {
    dst = await o.control.connect();
  } catch (e) {
    src.release();
    throw e;
  }
  // A connection whose COPY or transaction was cut off is in an unknown state.
  let broken = false;
  let reader: ReturnType<typeof copyTo> | null = null;
  const stop = () => reader?.destroy(new ManifestBuildStopped());
  o.signal?.addEventListener("abort", stop, { once: true });
  try {
    if (o.signal?.aborted) throw new ManifestBuildStopped();
    const names = await manifestNames(dst, o.runId);
    const run = `'${o.runId}'::uuid`;
    let built = o.builtRows ?? 0;
    let after = "";
    if (built === 0) {
      // (a failure rolls back with the connection, released as broken below)
      await dst.query("begin");
      // a partition can only exist here from a rebuild: replaced (with its chunks)
      await dst.query(`drop table if exists ${names.run}`);
      // The run's partition is itself partitioned by seq: one leaf per chunk.
      // (Attached while empty: nothing to check. A CHECK on it would have to
      // be repeated, by name, on every leaf.)
      await dst.query(
        `create table ${names.run} (like typesense_sync_run_manifest_rows including constraints)
           partition by range (seq);
         alter table typesense_sync_run_manifest_rows attach partition ${names.run}
           for values in (${run})`,
      );
      await markRun(
        dst,
        o.runId,
        `set next_manifest_seq = 0, manifest_processed_rows = 0,
            stage_message = 'building manifest', updated_at = now()`,
      );
      await dst.query("commit");
    } else {
      const r = await dst.query<{ doc_id: string }>(
        "select doc_id from typesense_sync_run_manifest_rows where run_id = $1 and seq = $2",
        [o.runId, built - 1],
      );
      const last = r.rows[0]?.doc_id;
      if (last === undefined) throw new Error(`manifest of run ${o.runId} has no seq ${built - 1}`);
      // the same text -> type input as the window reads (the inverse of the id text)
      after = `and ${id} > ${sqlStringLiteral(last)}::text::${o.mapper.idColumn.typeName}`;
    }
    // run_id is not sent per row: the leaf's column default fills it in. The
    // seqs are not computed by Postgres either (a row_number() window over the
    // id order cost 0.3-0.4 us per id, half of this COPY): the source sends
    // the ids in id order and the sidecar numbers them (seqPrefixer) as they
    // pass into the control COPY, the same dense 0-based numbering.
    const select = `select ${idTextSql(o.mapper)}
                      from ${qualifiedName(o.mapper.table)} where ${id} is not null ${after} order by ${id}`;
    const numbered = seqPrefixer(built);
    // A chunk is a new leaf for seqs [lo, lo + rows): loaded unindexed (COPY
    // FREEZE: created in this transaction), then its key is built once from the
    // loaded rows and it is attached (the check constraint proves its bounds, so
    // the attach does not scan it). 1M ids: 1.5 s of control-DB time into one
    // indexed table, 0.95 s this way.
    const open = async (lo: number, rows: number) => {
      await dst.query("begin");
      const leaf = names.chunk(lo);
      await dst.query(
        `create table ${leaf} (like typesense_sync_run_manifest_rows including constraints);
         alter table ${leaf} alter column run_id set default ${run},
           add check (run_id = ${run} and seq >= ${lo} and seq < ${lo + rows})`,
      );
      const w = dst.query(copyFrom(`copy ${leaf} (seq, doc_id) from stdin (freeze)`));
      w.on("error", () => {}); // surfaced by put/close
      return { w, leaf, lo, hi: lo + rows };
    };
    const close = async (
      { w, leaf, lo, hi }: Awaited<ReturnType<typeof open>>,
      complete: boolean,
    ) => {
      // the source may have been read to its end already: the stop is checked here too
      if (o.signal?.aborted) throw new ManifestBuildStopped();
      w.end();
      await once(w, "finish");
      await dst.query(
        `alter table ${leaf} add primary key (run_id, seq);
         alter table ${names.run} attach partition ${leaf} for values from (${lo}) to (${hi})`,
      );
      await markRun(
        dst,
        o.runId,
        complete
          ? `set manifest_complete = true, manifest_total_rows = ${built},
                 progress_total_kind = 'exact', source_row_count = ${built},
                 stage_message = 'manifest of ${built} ids built', updated_at = now()`
          : `set stage_message = 'manifest: ${built} ids so far', updated_at = now()`,
      );
      await dst.query("commit");
    };
    let target = built === 0 ? first : size;
    let chunk = await open(built, target);
    if (o.signal?.aborted) throw new ManifestBuildStopped();
    // The reader is made right before the loop that consumes it, with no await
    // between: a stop (reader.destroy) while nothing listened for its 'error'
    // crashed the process ("Unhandled 'error' event on CopyStreamQuery"). The
    // no-op listener keeps it so; the loop still throws the error.
    reader = src.query(copyTo(`copy (${select}) to stdout`));
    reader.on("error", () => {});
    let rows = 0;
    for await (const data of reader) {
      let buf = data as Buffer;
      // text COPY: one "\n" per row (a newline inside a value is escaped)
      while (buf.length > 0) {
        let cut = -1;
        let from = 0;
        while (rows < target) {
          const k = buf.indexOf(10, from);
          if (k < 0) break;
          rows++;
          cut = k + 1;
          from = k + 1;
        }
        if (rows < target) {
          await put(chunk.w, numbered(buf, 0, buf.length));
          break;
        }
        await put(chunk.w, numbered(buf, 0, cut));
        built += rows;
        await close(chunk, false);
        onChunk(built);
        await o.onChunk?.(built);
        rows = 0;
        target = size;
        chunk = await open(built, target);
        buf = buf.subarray(cut);
      }
    }
    built += rows;
    await close(chunk, true);
    return built;
  } catch (e) {
    broken = true;
    throw e;
  } finally {
    o.signal?.removeEventListener("abort", stop);
    src.release(broken ? true : undefined);
    dst.release(broken ? true : undefined);
  }
}

/**
 * Numbers the rows of a text COPY stream of single-column rows: every row
 * start gets "<seq>\t" in front, seqs counting up from `first`, so the
 * control COPY receives (seq, doc_id) rows. Called with consecutive slices of
 * the stream in order; a row may span slices (a row starts at the stream's
 * start and after each "\n"; a "\n" inside a value is escaped by COPY).
 */
export function seqPrefixer(first: number): (buf: Buffer, start: number, end: number) => Buffer {
  // The seq as ASCII digits, incremented in place (no string per row: with a
  // template string per row this cost 0.25 us per id, as much as the
  // row_number() it replaces; this way ~0.05).
  const digits = Buffer.alloc(20);
  let width = digits.write(String(first), 0, "latin1");
  const increment = () => {
    let k = width - 1;
    while (k >= 0 && digits[k] === 57) digits[k--] = 48; // "9" -> "0", carry
    if (k >= 0) digits[k]!++;
    else {
      digits.copyWithin(1, 0, width);
      digits[0] = 49; // "1" in front: 99 -> 100
      width++;
    }
  };
  let atRowStart = true;
  return (buf, start, end) => {
    let starts = atRowStart && start < end ? 1 : 0;
    for (let k = buf.indexOf(10, start); k >= 0 && k < end - 1; k = buf.indexOf(10, k + 1)) {
      starts++;
    }
    // the tab and at most 17 digits per row start (seqs stay below 2^53)
    const out = Buffer.allocUnsafe(end - start + starts * 18);
    let at = 0;
    for (let i = start; i < end; i++) {
      if (atRowStart) {
        for (let d = 0; d < width; d++) out[at++] = digits[d]!;
        out[at++] = 9; // "\t"
        increment();
        atRowStart = false;
      }
      const b = buf[i]!;
      out[at++] = b;
      if (b === 10) atRowStart = true;
    }
    return out.subarray(0, at);
  };
}

async function put(w: Writable, buf: Buffer): Promise<void> {
  if (!w.write(buf)) await once(w, "drain");
}

/**
 * The run row's update in the chunk's transaction; also its existence check
 * (the manifest rows have no foreign key, sql/003).
 */
async function markRun(db: pg.ClientBase, runId: string, set: string): Promise<void> {
  const r = await db.query(`update typesense_sync_runs ${set} where id = $1`, [runId]);
  if (r.rowCount !== 1) throw new Error(`run ${runId} does not exist`);
}
