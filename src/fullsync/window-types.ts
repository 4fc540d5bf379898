import type { WatermarkWindow } from "../coordination/watermarks.js";
import type { Document, JsonLines } from "../typesense/types.js";

/* The window's data types (window.ts, resync-window.ts): their own file, so the two import no circle. */
/** A window read and diffed, nothing written yet (safe to discard). */
export interface PreparedWindow {
  rows: readonly { seq: number; docId: string }[];
  /** New or changed documents to upsert (empty when `rendered` holds them). */
  changed: Document[];
  /**
   * The documents as Postgres rendered them, all to upsert (a first sync:
   * nothing to compare against), or null: `changed` holds them.
   */
  rendered: RenderedDocs | null;
  /** Pre-images of the window's ids that exist in Typesense now. */
  pre: Map<string, Document>;
  unchanged: number;
  /** Ids whose row vanished since the manifest while their doc exists. */
  vanished: string[];
  /** The window's watermark registration while CDC streams the job (watermarked.ts), else null. */
  bracket: WatermarkWindow | null;
  /** Content-hash bookkeeping (resync-window.ts), null: the window stores no claim. */
  hashes: WindowHashes | null;
}

/** What a window does to the content hashes (db/repositories/doc-hashes.ts). */
export interface WindowHashes {
  /** md5 (hex) of the rendered text of docs to claim once Typesense confirmed them. */
  md5: Map<string, string>;
  /** Ids Typesense already holds equal (not written): claimed at the checkpoint. */
  keep: string[];
  /** Ids whose claims are deleted before the write (docs about to change or go). */
  stale: string[];
}

/** SQL-rendered documents: JSON lines in import order, ids in the same order. */
export interface RenderedDocs {
  ids: string[];
  lines: JsonLines;
}
