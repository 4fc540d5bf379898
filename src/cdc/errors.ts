import { type ErrorCode, pgCode, ServiceError } from "../errors/service-error.js";

/**
 * Errors of the CDC stream. Setup errors carry the operator's next step in
 * their message; they are shown in typesense_cdc_streams.last_error verbatim.
 */
export class CdcError extends ServiceError {
  override readonly name: string = "CdcError";
  constructor(
    message: string,
    /** False when retrying cannot help until an operator acts (privileges, config). */
    retryable: boolean,
    options?: { cause?: unknown; code?: ErrorCode },
  ) {
    super(options?.code ?? "CDC_FAILED", message, { retryable, cause: options?.cause });
  }
}

/**
 * One job's Typesense writes kept failing for longer than cdc.park_after_ms
 * (bad key, a whole-batch 4xx, a collection that cannot be created, a backend
 * that stays down). The applier parks the job instead of holding the whole
 * stream (docs/cdc.md, "Parked jobs").
 */
export class JobWriteFailedError extends Error {
  override readonly name = "JobWriteFailedError";
  constructor(
    readonly jobId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The source database cannot do logical replication as configured. */
export class CdcSetupError extends CdcError {
  override readonly name = "CdcSetupError";
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, retryable, { ...options, code: "CDC_SETUP_FAILED" });
  }
}

/**
 * The slot is gone or invalidated (max_slot_wal_keep_size exceeded,
 * idle_replication_slot_timeout, dropped by hand): its changes are lost, so the
 * slot must be recreated and every job of the stream resynced.
 */
export class SlotLostError extends CdcError {
  override readonly name = "SlotLostError";
  constructor(
    readonly slotName: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `replication slot "${slotName}" is lost (${reason}); it is recreated and every job of this stream gets a full resync`,
      true,
      { ...options, code: "CDC_SLOT_LOST" },
    );
  }
}

/** No message (not even a keepalive) for longer than the watchdog allows. */
export class WatchdogError extends CdcError {
  override readonly name = "WatchdogError";
  constructor(silentMs: number) {
    super(`no message from the server for ${silentMs} ms; reconnecting`, true, {
      code: "CDC_WATCHDOG",
    });
  }
}

/** A replication protocol message could not be decoded. */
export class DecodeError extends CdcError {
  override readonly name = "DecodeError";
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, retryable, { ...options, code: "CDC_DECODE_FAILED" });
  }
}

/** The one pg error code helper (src/errors), re-exported for this module's users. */
export { pgCode };

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Errors after which reconnecting with the same slot cannot succeed: the slot
 * was dropped or invalidated, or the publication is missing. The stream then
 * runs its setup again (which recreates what is missing) instead of retrying.
 */
export function classifyReplicationError(
  e: unknown,
  slotName: string,
): "slot_lost" | "setup" | "slot_active" | "transient" {
  const code = pgCode(e);
  const msg = errorMessage(e);
  if (code === "55006") return "slot_active";
  if (code === "42704" && /replication slot/i.test(msg)) return "slot_lost";
  if (code === "55000" && /invalidated|can no longer/i.test(msg)) return "slot_lost";
  if (e instanceof SlotLostError && e.slotName === slotName) return "slot_lost";
  if (code === "42704" && /publication/i.test(msg)) return "setup";
  // privileges and authentication: retrying the same connection will not help
  if (code === "42501" || code === "28000" || code === "28P01") return "setup";
  if (e instanceof CdcSetupError) return "setup";
  return "transient";
}
