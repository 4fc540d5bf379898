import type pg from "pg";
import { savedConfirmedLsn } from "../db/repositories/cdc-streams.js";
import type { Logger } from "../lifecycle/logger.js";
import { CdcSetupError, errorMessage, pgCode } from "./errors.js";
import { type Lsn, parseLsn } from "./lsn.js";

interface SlotRow {
  plugin: string | null;
  database: string | null;
  confirmed_flush_lsn: string | null;
  restart_lsn: string | null;
  wal_status: string | null;
  invalidation_reason?: string | null;
  conflicting?: boolean | null;
}

/** What ensureSlot reads of the stream's setup options (setup.ts's SetupOptions fits). */
export interface SlotOptions {
  source: pg.Pool;
  control: pg.Pool;
  clientName: string;
  slotName: string;
  plugin: "pgoutput" | "wal2json";
  log: Logger;
}

/**
 * Ensures the logical slot exists and is usable. A lost/invalidated slot, or
 * one of another plugin, is dropped and recreated: `lostReason` says why, and
 * the stream then resyncs every job (the changes in between are gone).
 */
export async function ensureSlot(
  opts: SlotOptions,
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
    if (await savedConfirmedLsn(opts.control, opts.clientName)) {
      lostReason = "slot no longer exists (dropped)";
    }
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
