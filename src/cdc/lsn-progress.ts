import { type Lsn, maxLsn } from "./lsn.js";

/** Where a flush moves the checkpoint to, and the commit times its lag is measured from. */
export interface FlushPosition {
  /** Durable LSN after the flush (end of a committed transaction, or an idle message), or null. */
  lsn: Lsn | null;
  /** A transaction was received since the previous checkpoint (lag is meaningful). */
  fresh: boolean;
  /** Commit time of the last transaction received whole. */
  commitTimeMs: number;
  /** Commit time of the newest transaction with changes in the flush (the open one, if any). */
  newestCommitMs: number;
  /** Commit time of the oldest transaction the flush covers (null: none). */
  oldestCommitMs: number | null;
}

/**
 * The applier's LSN bookkeeping: what was received, what a flush may checkpoint.
 *
 * INVARIANT: the checkpoint only moves to the end of a transaction received
 * WHOLE (commit) or to a non-transactional message outside a transaction
 * (`idle`), never into an open transaction: a crash mid-transaction re-sends
 * it whole. `take()` hands the position to one flush and marks it checkpointed.
 *
 * Pure (no I/O, no clock) and allocation-free per change: begin/commit/idle
 * only assign fields; take() builds one object per flush.
 */
export class LsnProgress {
  #inTxn = false;
  #txnCommitTime = Number.NaN;
  /** End LSN and commit time of the last transaction received whole. */
  #received: Lsn = 0n;
  #receivedTime = Number.NaN;
  /** Durable position reached by non-transactional messages with nothing pending. */
  #idleLsn: Lsn = 0n;
  #checkpointed: Lsn = 0n;
  /** Commit time of the oldest transaction not yet checkpointed (lag while stuck). */
  #oldestUnapplied: number | null = null;
  /** A transaction was received since the last checkpoint (else lag/commit time stay as they are). */
  #committedSinceCheckpoint = false;

  /** A new connection resumes at `lsn` (the durable LSN): everything after it comes again. */
  reset(lsn: Lsn): void {
    this.#inTxn = false;
    this.#received = lsn;
    this.#checkpointed = lsn;
    this.#idleLsn = 0n;
    this.#oldestUnapplied = null;
  }

  begin(commitTimeMs: number): void {
    this.#inTxn = true;
    this.#txnCommitTime = commitTimeMs;
    this.#oldestUnapplied ??= commitTimeMs;
  }

  commit(endLsn: Lsn, commitTimeMs: number): void {
    this.#inTxn = false;
    this.#received = endLsn;
    this.#receivedTime = commitTimeMs;
    this.#committedSinceCheckpoint = true;
    this.#oldestUnapplied ??= commitTimeMs;
  }

  /**
   * A non-transactional message at `lsn`. Outside a transaction everything
   * before it has been received: once written, its LSN is durable (this is how
   * heartbeats advance the slot on a quiet database). Returns whether it counted.
   */
  idle(lsn: Lsn): boolean {
    if (this.#inTxn) return false;
    this.#idleLsn = maxLsn(this.#idleLsn, lsn);
    return true;
  }

  get inTxn(): boolean {
    return this.#inTxn;
  }

  /** Something was received that a flush would checkpoint. */
  get unflushed(): boolean {
    return maxLsn(this.#received, this.#idleLsn) > this.#checkpointed;
  }

  /** Commit time of the oldest transaction received but not handed to a flush, or null. */
  get oldestUnappliedCommitMs(): number | null {
    return this.#oldestUnapplied;
  }

  /** How far behind the source the transaction being received (or the last one) is. */
  behindMs(nowMs: number): number {
    return nowMs - (this.#inTxn ? this.#txnCommitTime : this.#receivedTime);
  }

  /**
   * The position of the next flush. When it moves the checkpoint (lsn not
   * null), the position counts as checkpointed from here on: the caller must
   * hand it to the pipeline, which persists it after the writes.
   */
  take(): FlushPosition {
    const target = maxLsn(this.#received, this.#idleLsn);
    const lsn = target > this.#checkpointed ? target : null;
    const pos: FlushPosition = {
      lsn,
      // lag = Typesense confirmation - commit time of the last transaction applied;
      // a checkpoint moved only by a heartbeat applied no transaction: no new lag
      fresh: lsn !== null && this.#committedSinceCheckpoint,
      commitTimeMs: this.#receivedTime,
      newestCommitMs: this.#inTxn ? this.#txnCommitTime : this.#receivedTime,
      oldestCommitMs: lsn !== null ? this.#oldestUnapplied : null,
    };
    if (lsn !== null) {
      this.#checkpointed = lsn;
      this.#committedSinceCheckpoint = false;
      this.#oldestUnapplied = this.#inTxn ? this.#txnCommitTime : null;
    }
    return pos;
  }
}
