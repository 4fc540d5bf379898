import type pg from "pg";
import { describeTable, quoteIdent, type TableInfo } from "../catalog/index.js";
import type { Logger } from "../lifecycle/logger.js";
import { CdcSetupError, errorMessage, pgCode } from "./errors.js";
import type { CdcJob } from "./jobs.js";
import { formatLsn, type Lsn, maxLsn, parseLsn } from "./lsn.js";

/** A job whose table cannot be streamed, and what the operator should do. */
export interface RejectedJob {
  job: CdcJob;
  reason: string;
}

export interface SetupResult {
  /** Jobs whose table is in the publication and whose deletes carry the document id. */
  accepted: { job: CdcJob; table: TableInfo }[];
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
      if (reason) rejected.push({ job, reason });
      else accepted.push({ job, table });
    } catch (e) {
      rejected.push({ job, reason: errorMessage(e) });
    }
  }
  if (opts.plugin === "pgoutput") {
    await syncPublication(opts.source, opts.publicationName, uniqueTables(accepted));
  }
  const slot = await ensureSlot(opts);
  const row = await upsertStreamRow(opts, slot.created ? slot.lsn : null);
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

function uniqueTables(accepted: SetupResult["accepted"]): { schema: string; table: string }[] {
  const seen = new Map<string, { schema: string; table: string }>();
  for (const a of accepted) seen.set(JSON.stringify([a.job.schema, a.job.table]), a.job);
  return [...seen.values()].map((t) => ({ schema: t.schema, table: t.table }));
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

interface SlotRow {
  plugin: string | null;
  database: string | null;
  confirmed_flush_lsn: string | null;
  restart_lsn: string | null;
  wal_status: string | null;
  invalidation_reason?: string | null;
  conflicting?: boolean | null;
}

async function ensureSlot(
  opts: SetupOptions,
): Promise<{ lsn: Lsn; created: boolean; lostReason: string | null }> {
  const { source, slotName } = opts;
  const found = await source.query<{ j: SlotRow; db: string }>(
    `select to_jsonb(s) as j, current_database() as db
       from pg_replication_slots s where slot_name = $1`,
    [slotName],
  );
  const row = found.rows[0];
  let lostReason: string | null = null;
  if (row) {
    const s = row.j;
    if (s.database !== row.db) {
      throw new CdcSetupError(
        `replication slot "${slotName}" belongs to database "${s.database}", not "${row.db}"; choose another cdc.slot_prefix`,
        false,
      );
    }
    if (s.wal_status === "lost" || s.invalidation_reason || s.confirmed_flush_lsn === null) {
      lostReason = `slot invalidated (${s.invalidation_reason ?? `wal_status ${s.wal_status}`})`;
    } else if (s.plugin !== opts.plugin) {
      lostReason = `slot uses plugin ${s.plugin}, the config asks for ${opts.plugin}`;
    } else {
      return { lsn: parseLsn(s.confirmed_flush_lsn), created: false, lostReason: null };
    }
    opts.log.error({ slot: slotName, reason: lostReason }, "dropping unusable replication slot");
    await source.query(
      `select pg_terminate_backend(active_pid) from pg_replication_slots
        where slot_name = $1 and active_pid is not null`,
      [slotName],
    );
    await dropSlot(source, slotName);
  } else {
    // No slot, but we streamed before: someone dropped it; its changes are gone.
    const prior = await opts.control.query<{ confirmed_lsn: string | null }>(
      "select confirmed_lsn::text from typesense_cdc_streams where source_client_name = $1",
      [opts.clientName],
    );
    if (prior.rows[0]?.confirmed_lsn) lostReason = "slot no longer exists (dropped)";
  }
  try {
    const c = await source.query<{ lsn: string }>(
      "select lsn::text from pg_create_logical_replication_slot($1, $2)",
      [slotName, opts.plugin],
    );
    return { lsn: parseLsn(c.rows[0]!.lsn), created: true, lostReason };
  } catch (e) {
    throw await explainSlotError(source, slotName, opts.plugin, e);
  }
}

async function dropSlot(source: pg.Pool, slotName: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await source.query("select pg_drop_replication_slot($1)", [slotName]);
      return;
    } catch (e) {
      if (pgCode(e) === "42704") return;
      // 55006: its walsender is still exiting
      if (pgCode(e) !== "55006" || i >= 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function explainSlotError(
  source: pg.Pool,
  slotName: string,
  plugin: string,
  e: unknown,
): Promise<Error> {
  const code = pgCode(e);
  if (code === "53400") {
    const r = await source.query<{ max: string; names: string[] | null }>(
      `select current_setting('max_replication_slots') as max,
              array_agg(slot_name::text || case when active then ' (active)' else ' (inactive)' end) as names
         from pg_replication_slots`,
    );
    const x = r.rows[0];
    return new CdcSetupError(
      `cannot create replication slot "${slotName}": all ${x?.max} replication slots are in use (${(x?.names ?? []).join(", ")}); drop unused slots with pg_drop_replication_slot('name') or raise max_replication_slots (needs a restart)`,
      false,
      { cause: e },
    );
  }
  if (code === "58P01" || /could not access file/i.test(errorMessage(e))) {
    return new CdcSetupError(
      `output plugin "${plugin}" is not installed on the source server (${errorMessage(e)}); install it (e.g. the postgresql-NN-wal2json package) or set cdc.plugin: pgoutput`,
      false,
      { cause: e },
    );
  }
  if (code === "42501" || code === "55000") {
    return new CdcSetupError(
      `cannot create replication slot "${slotName}": ${errorMessage(e)}`,
      false,
      {
        cause: e,
      },
    );
  }
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Creates or refreshes the stream's row; returns its saved confirmed_lsn
 * (text or null). A new slot resets confirmed_lsn to the slot's start: the
 * old position belongs to a slot that no longer exists.
 */
async function upsertStreamRow(opts: SetupOptions, newSlotLsn: Lsn | null): Promise<string | null> {
  const r = await opts.control.query<{ confirmed_lsn: string | null }>(
    `insert into typesense_cdc_streams
       (source_client_name, slot_name, publication_name, plugin, status, confirmed_lsn)
     values ($1, $2, $3, $4, 'starting', $5::pg_lsn)
     on conflict (source_client_name) do update
       set slot_name = excluded.slot_name, publication_name = excluded.publication_name,
           plugin = excluded.plugin, updated_at = now(),
           confirmed_lsn = coalesce($5::pg_lsn, typesense_cdc_streams.confirmed_lsn)
     returning confirmed_lsn::text`,
    [
      opts.clientName,
      opts.slotName,
      opts.publicationName,
      opts.plugin,
      newSlotLsn === null ? null : formatLsn(newSlotLsn),
    ],
  );
  return r.rows[0]?.confirmed_lsn ?? null;
}
