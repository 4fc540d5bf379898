import type pg from "pg";

/** Inserts a profile + job into the control DB; returns the job id. */
export async function insertJob(
  control: pg.Pool,
  opts: {
    collection: string;
    table: string;
    client?: string;
    baseUrl?: string;
    apiKey?: string;
    windowSize?: number;
    idColumn?: string;
    queryable?: string[];
    nextSyncAt?: Date | null;
    enabled?: boolean;
    /**
     * adopt_existing_collection: the test made the collection by hand first
     * (the column is named only then: some tests stop migrating before sql/007).
     */
    adopt?: boolean;
  },
): Promise<string> {
  const profile = await control.query<{ id: string }>(
    `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
     values ($1, $2, $3, 'xxxx') returning id`,
    [`p-${opts.collection}`, opts.baseUrl ?? "http://127.0.0.1:1", `plain:${opts.apiKey ?? "k"}`],
  );
  const job = await control.query<{ id: string }>(
    `insert into typesense_sync_jobs (profile_id, source_client_name, source_table_name,
        collection_name, document_id_column, window_size, queryable_fields, next_sync_at, enabled
        ${opts.adopt ? ", adopt_existing_collection" : ""})
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9 ${opts.adopt ? ", true" : ""}) returning id`,
    [
      profile.rows[0]!.id,
      opts.client ?? "app",
      opts.table,
      opts.collection,
      opts.idColumn ?? "id",
      opts.windowSize ?? 1000,
      opts.queryable ?? [],
      opts.nextSyncAt ?? null,
      opts.enabled ?? true,
    ],
  );
  return job.rows[0]!.id;
}

export async function insertRun(control: pg.Pool, jobId: string): Promise<string> {
  const r = await control.query<{ id: string }>(
    `insert into typesense_sync_runs (job_id, trigger, status, stage) values ($1, 'manual', 'running', 'manifest') returning id`,
    [jobId],
  );
  return r.rows[0]!.id;
}
