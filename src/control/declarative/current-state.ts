import type pg from "pg";
import { JOB_FIELDS, type JobField, type JobFields } from "../../db/repositories/job-schema.js";
import { type BackendRecord, backendConnection, listBackends } from "../backends.js";
import { listJobs } from "../jobs.js";
import type { SecretBox } from "../secret-box.js";

/** A saved backend with its stored key opened (null: this encryption key cannot open it). */
export interface CurrentBackend extends BackendRecord {
  /** For comparison with the file's key only: never printed, logged or exported. */
  apiKey: string | null;
}

/** A saved job as plan compares it: its editable fields and its id. */
export type StoredJob = JobFields & { id: string };

export interface CurrentState {
  backends: CurrentBackend[];
  jobs: StoredJob[];
}

/**
 * What the control DB holds, read with the operations the API uses (every
 * client's jobs: the CLI is an operator with the config, unscoped). `box`
 * opens the stored keys so plan can tell whether the file's key differs;
 * null for export, which never needs them.
 */
export async function readCurrentState(
  pool: pg.Pool,
  box: SecretBox | null,
): Promise<CurrentState> {
  const records = await listBackends(pool);
  const backends: CurrentBackend[] = [];
  for (const b of records) {
    let apiKey: string | null = null;
    if (box) {
      // a key sealed with another encryption key reads as "differs": apply re-saves it
      apiKey = await backendConnection(pool, box, b.id).then(
        (c) => c.apiKey,
        () => null,
      );
    }
    backends.push({ ...b, apiKey });
  }
  const jobs = await listJobs(pool, { scope: null });
  return { backends, jobs };
}

/** The job fields a file manages (profile_id is written as `backend`). */
export const FILE_JOB_FIELDS = JOB_FIELDS.filter((f) => f !== "profile_id") as Exclude<
  JobField,
  "profile_id"
>[];
