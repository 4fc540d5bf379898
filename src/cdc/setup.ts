import type pg from "pg";
import { describeTable, type TableInfo } from "../catalog/index.js";
import type { CdcJob } from "../db/repositories/cdc-jobs.js";
import { upsertStreamRow } from "../db/repositories/cdc-streams.js";
import { describeSpecJob, quoteIdent } from "../documents/index.js";
import type { Logger } from "../lifecycle/logger.js";
import { CdcSetupError, errorMessage, pgCode } from "./errors.js";
import { type Lsn, maxLsn, parseLsn } from "./lsn.js";
import { ensureSlot } from "./slot.js";
import { createSpecTarget, relationIdentityProblems, type SpecTarget } from "./spec-target.js";

/** A job whose table cannot be streamed, and what the operator should do. */
export interface RejectedJob {
  job: CdcJob;
  reason: string;
}

export interface SetupResult {
  /**
   * Jobs whose table is in the publication and whose deletes carry the
   * document id; a spec job with its resolved spec (its lookup and child
   * tables are published too).
   */
  accepted: { job: CdcJob; table: TableInfo; spec?: SpecTarget }[];
  rejected: RejectedJob[];
  /** Where to stream from: max(saved confirmed_lsn, slot's confirmed_flush_lsn). */
  startLsn: Lsn;
  /** The slot was (re)created in this call. */
  slotCreated: boolean;
  /** Why the previous slot was unusable (lost, invalidated, dropped, other plugin), if it was. */
  slotLostReason: string | null;
}

export interface SetupOptions {
  source: pg.Pool;
  control: pg.Pool;
  clientName: string;
  slotName: string;
  publicationName: string;
  plugin: "pgoutput" | "wal2json";
  jobs: readonly CdcJob[];
  log: Logger;
}

/**
 * Validates the source and brings publication, slot and stream row in step
 * with the jobs. Idempotent; the stream runs it at start, after a lost slot,
 * and whenever its set of jobs changed.
 */
export async function setupStream(opts: SetupOptions): Promise<SetupResult> {
  await checkServer(opts.source);
  const accepted: SetupResult["accepted"] = [];
  const rejected: RejectedJob[] = [];
  for (const job of opts.jobs) {
    try {
      const table = await describeTable(opts.source, { schema: job.schema, table: job.table });
      const reason = identityProblem(table, job.documentIdColumn);
      if (reason) {
        rejected.push({ job, reason });
        continue;
      }
      const spec = await specTargetOf(opts.source, job);
      // a spec job's lookup and child tables must name the roots their changes touch
      const problems = spec ? relationIdentityProblems(spec.resolved, spec.routes) : [];
      if (problems.length > 0) rejected.push({ job, reason: problems.join("; ") });
      else accepted.push(spec ? { job, table, spec } : { job, table });
    } catch (e) {
      rejected.push({ job, reason: errorMessage(e) });
    }
  }
  if (opts.plugin === "pgoutput") {
    await syncPublication(opts.source, opts.publicationName, uniqueTables(accepted));
  }
  const slot = await ensureSlot(opts);
  const row = await upsertStreamRow(opts.control, opts, slot.created ? slot.lsn : null);
  const startLsn = slot.created ? slot.lsn : maxLsn(slot.lsn, parseLsn(row));
  return {
    accepted,
    rejected,
    startLsn,
    slotCreated: slot.created,
    slotLostReason: slot.lostReason,
  };
}

async function checkServer(source: pg.Pool): Promise<void> {
  const r = await source.query<{ wal_level: string; can_replicate: boolean; role: string }>(
    `select current_setting('wal_level') as wal_level, current_user as role,
            (select rolreplication or rolsuper from pg_roles where rolname = current_user)
            or exists (select 1 from pg_roles r where r.rolname = 'rds_replication'
                        and pg_has_role(current_user, r.oid, 'member')) as can_replicate`,
  );
  const s = r.rows[0]!;
  if (s.wal_level !== "logical") {
    throw new CdcSetupError(
      `wal_level is "${s.wal_level}" on the source database; CDC needs wal_level = logical (set it in postgresql.conf or with ALTER SYSTEM SET wal_level = logical, then restart Postgres)`,
      false,
    );
  }
  if (!s.can_replicate) {
    throw new CdcSetupError(
      `role "${s.role}" may not use logical replication; run ALTER ROLE ${quoteIdent(s.role)} WITH REPLICATION (on RDS: GRANT rds_replication TO ${quoteIdent(s.role)})`,
      false,
    );
  }
}

/**
 * A DELETE (and a key-changing UPDATE) carries only the replica identity
 * columns. Unless the document id column is among them, the stream cannot
 * tell which document to delete. Publishing a table with REPLICA IDENTITY
 * NOTHING (or DEFAULT without a primary key) would even make UPDATE and
 * DELETE fail on the source, so such a table is never added.
 */
export function identityProblem(table: TableInfo, idColumn: string): string | null {
  const name = `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`;
  if (table.kind !== "table" && table.kind !== "partitioned_table") {
    return `${name} is a ${table.kind.replace("_", " ")}; logical replication streams tables only`;
  }
  if (table.replicaIdentity === "full") return null;
  if (table.replicaIdentityColumns.includes(idColumn)) return null;
  const advice = `run ALTER TABLE ${name} REPLICA IDENTITY FULL, or make ${quoteIdent(idColumn)} part of the primary key (or of a unique index used with REPLICA IDENTITY USING INDEX)`;
  if (table.replicaIdentityColumns.length === 0) {
    return `${name} has no replica identity (${table.replicaIdentity === "nothing" ? "REPLICA IDENTITY NOTHING" : "no primary key"}): its deletes cannot carry the document id and publishing it would make UPDATE/DELETE fail on the source; ${advice}`;
  }
  return `deletes of ${name} carry only (${table.replicaIdentityColumns.join(", ")}), not the document id column ${quoteIdent(idColumn)}; ${advice}`;
}

/** The tables to publish: each accepted job's table, and a spec job's lookup and child tables. */
function uniqueTables(accepted: SetupResult["accepted"]): { schema: string; table: string }[] {
  const seen = new Map<string, { schema: string; table: string }>();
  for (const a of accepted) {
    for (const t of a.spec ? a.spec.tables : [a.job]) {
      seen.set(JSON.stringify([t.schema, t.table]), t);
    }
  }
  return [...seen.values()].map((t) => ({ schema: t.schema, table: t.table }));
}

/**
 * A job's document spec resolved against the source as it is now, or
 * undefined for a job without one. A spec that no longer resolves (a column
 * dropped since the job was saved) rejects the job with the spec's message.
 */
export async function specTargetOf(source: pg.Pool, job: CdcJob): Promise<SpecTarget | undefined> {
  if (!job.document) return undefined;
  // the same resolution (and rendering qualification) a full-sync attempt makes
  const { resolved } = await describeSpecJob(
    source,
    {
      schema: job.schema,
      table: job.table,
      documentIdColumn: job.documentIdColumn,
      includedColumns: job.includedColumns,
      queryableFields: job.queryableFields,
    },
    job.document,
  );
  return createSpecTarget(source, resolved);
}

/** Creates the publication, then ADDs/DROPs tables so it holds exactly `tables`. */
async function syncPublication(
  source: pg.Pool,
  name: string,
  tables: { schema: string; table: string }[],
): Promise<void> {
  const q = (t: { schema: string; table: string }) =>
    `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
  const pub = await source.query<{ puballtables: boolean }>(
    "select puballtables from pg_publication where pubname = $1",
    [name],
  );
  try {
    if (!pub.rows[0]) {
      const list = tables.length > 0 ? ` for table ${tables.map(q).join(", ")}` : "";
      await source.query(
        `create publication ${quoteIdent(name)}${list} with (publish = 'insert, update, delete, truncate')`,
      );
      return;
    }
    if (pub.rows[0].puballtables) return;
    const cur = await source.query<{ schemaname: string; tablename: string }>(
      "select schemaname, tablename from pg_publication_tables where pubname = $1",
      [name],
    );
    const key = (t: { schema: string; table: string }) => JSON.stringify([t.schema, t.table]);
    const have = new Map(
      cur.rows.map((r) => [key({ schema: r.schemaname, table: r.tablename }), r] as const),
    );
    const want = new Set(tables.map(key));
    const add = tables.filter((t) => !have.has(key(t)));
    const drop = cur.rows
      .map((r) => ({ schema: r.schemaname, table: r.tablename }))
      .filter((t) => !want.has(key(t)));
    if (add.length > 0) {
      await source.query(
        `alter publication ${quoteIdent(name)} add table ${add.map(q).join(", ")}`,
      );
    }
    if (drop.length > 0) {
      await source.query(
        `alter publication ${quoteIdent(name)} drop table ${drop.map(q).join(", ")}`,
      );
    }
  } catch (e) {
    if (pgCode(e) === "42501") {
      throw new CdcSetupError(
        `cannot manage publication "${name}": ${errorMessage(e)}; the source role must own the bound tables (or create the publication as their owner: CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${tables.map(q).join(", ") || "..."})`,
        false,
        { cause: e },
      );
    }
    throw e;
  }
}
