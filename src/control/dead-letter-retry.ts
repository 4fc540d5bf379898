import type pg from "pg";
import type { ImportAction } from "../typesense/index.js";
import type { ClientScope } from "./client-scope.js";
import { inTransaction } from "./db.js";
import {
  assertOpen,
  type DeadLetterRecord,
  getDeadLetter,
  recordDeadLetterFailure,
  resolveDeadLetter,
} from "./dead-letters.js";
import { ConflictError } from "./errors.js";
import type { SecretBox } from "./secret-box.js";
import { onceMoreOnNetworkError, type TypesenseClients } from "./typesense-clients.js";

export type RetryOutcome =
  | { outcome: "resolved"; letter: DeadLetterRecord }
  | { outcome: "rejected"; letter: DeadLetterRecord; code: number; error: string };

/**
 * Retry = re-send the stored operation to Typesense NOW, synchronously:
 *   upsert/emplace/update -> import of the stored payload with that action
 *   delete                -> delete of doc_id (a missing doc counts as done)
 * Typesense accepts   -> letter `resolved` (resolved_at set).
 * Typesense rejects   -> letter stays `open`, attempts + 1, new error stored.
 * Typesense down/slow -> TypesenseError propagates (503/504); letter unchanged.
 *
 * The letter row is locked for the duration, so concurrent retries of one
 * letter run one after the other (the second sees it resolved: 409). The
 * payload is read as text and sent as is, so int64 values stay exact.
 * It is the payload as it failed: if the source row changed since, run a
 * full sync instead (or discard the letter); CDC will have sent newer versions.
 */
export async function retryDeadLetter(
  pool: pg.Pool,
  box: SecretBox,
  clients: TypesenseClients,
  id: string,
  scope: ClientScope,
): Promise<RetryOutcome> {
  return inTransaction(pool, async (db) => {
    const letter = await getDeadLetter(db, id, scope, true);
    assertOpen(letter, "retried");
    // rows without a document id (CDC: payload {count, sample_keys}) have nothing to re-send
    if (letter.doc_id === null) {
      throw new ConflictError(
        `dead letter ${id} is about rows without a document id: fix the rows (or the job's document_id_column) and discard it`,
      );
    }
    const r = await db.query<{
      payload_text: string | null;
      collection_name: string;
      profile_id: string;
      base_url: string;
      additional_node_urls: string[];
      api_key_stored: string;
      timeout_ms: number;
      profile_updated_at: Date;
    }>(
      `select d.payload::text as payload_text, j.collection_name, p.id as profile_id, p.base_url,
              p.additional_node_urls, p.api_key_stored, p.timeout_ms, p.updated_at as profile_updated_at
         from typesense_dead_letters d
         join typesense_sync_jobs j on j.id = d.job_id
         join typesense_profiles p on p.id = j.profile_id
        where d.id = $1`,
      [id],
    );
    const row = r.rows[0]!;
    const backend = clients.forSaved({
      profileId: row.profile_id,
      nodes: [row.base_url, ...row.additional_node_urls],
      apiKey: box.open(row.api_key_stored, row.profile_id),
      timeoutMs: row.timeout_ms,
    });
    if (letter.operation === "delete") {
      const docId = letter.doc_id;
      await onceMoreOnNetworkError(() => backend.deleteDocuments(row.collection_name, [docId]));
      return { outcome: "resolved", letter: await resolveDeadLetter(db, id) };
    }
    if (row.payload_text === null || row.payload_text === "null") {
      throw new ConflictError(`dead letter ${id} has no payload to re-send`);
    }
    const action: ImportAction = letter.operation;
    const [result] = await backend.importDocuments(row.collection_name, [row.payload_text], {
      action,
    });
    if (result?.ok) return { outcome: "resolved", letter: await resolveDeadLetter(db, id) };
    const code = result ? result.code : 0;
    const error = result ? result.error : "no import result";
    const updated = await recordDeadLetterFailure(db, id, { code, message: error });
    return { outcome: "rejected", letter: updated, code, error };
  });
}
