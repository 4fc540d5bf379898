import { ago, bytes, lag, num, span, when } from "./format.js";
import { Badge, Csrf } from "./layout.js";
import type { Session } from "./session.js";
import { seg } from "./url.js";

/** Loose row types: the API returns the view and run rows as stored. */
export type Row = Record<string, unknown>;

const LAG_ATTENTION_MS = 60_000;

/** Why a job needs an operator's attention (empty: it does not). */
export function attentionReasons(j: Row, openLetters: number): string[] {
  const out: string[] = [];
  const health = String(j.sync_health);
  if (j.cdc_parked_at) {
    // the view reports a parked job as failing; say why instead of "last sync failed"
    out.push(`CDC parked: ${String(j.cdc_parked_error ?? "its writes keep failing")}`);
  } else if (health === "failing" && (j.last_sync_status === "failed" || j.last_sync_error)) {
    out.push(`Last sync failed${j.last_sync_error ? `: ${String(j.last_sync_error)}` : ""}`);
  } else if (health === "failing") {
    out.push("Failing: see the latest run and the CDC stream.");
  }
  if (health === "never_synced") out.push("Never synced: run it once.");
  if (j.enabled && j.is_stale && health !== "never_synced") {
    out.push(`Stale: nothing fresh for more than ${span(Number(j.stale_after_seconds))}.`);
  }
  if (Number(j.last_failed_count ?? 0) > 0) {
    out.push(`${num(j.last_failed_count)} documents failed in the last sync.`);
  }
  if (openLetters > 0) out.push(`${openLetters} open dead letters.`);
  if (j.enabled && j.cdc_enabled) {
    const st = j.cdc_status as string | null;
    if (!st) out.push("CDC is on but no stream has reported yet.");
    else if (["error", "lost", "backoff", "stopped"].includes(st)) out.push(`CDC stream is ${st}.`);
    if (Number(j.cdc_lag_ms ?? 0) > LAG_ATTENTION_MS) out.push(`CDC lag is ${lag(j.cdc_lag_ms)}.`);
  }
  return out;
}

/** processed / total, "about" for estimated totals (seed 000), with a progress bar when bounded. */
export function Progress(p: { processed: unknown; total: unknown; kind: unknown }) {
  const processed = Number(p.processed ?? 0);
  const total = p.total === null || p.total === undefined ? null : Number(p.total);
  const kind = String(p.kind ?? "unknown");
  const label =
    total === null || kind === "unknown"
      ? `${num(processed)} processed`
      : `${num(processed)} / ${kind === "estimated" ? "about " : ""}${num(total)}`;
  return (
    <span class="progress">
      {total !== null && kind !== "unknown" ? (
        <progress value={Math.min(processed, total)} max={Math.max(total, 1)} aria-label={label} />
      ) : null}{" "}
      <span class="mono">{label}</span>
    </span>
  );
}

/** A rebuild's reason as an operator reads it (typesense_sync_runs.rebuild_reason, sql/017). */
const REBUILD_REASONS: Record<string, string> = {
  manual: "manual",
  spec_change: "spec change",
  schema_mismatch: "schema mismatch",
  slot_lost: "slot lost",
};

export function rebuildReasonLabel(reason: unknown): string {
  return REBUILD_REASONS[String(reason)] ?? String(reason);
}

const version = (v: unknown) => (v === null || v === undefined ? "plain" : `v${String(v)}`);

/**
 * A rebuild run's progress (the API's `rebuild` object, runs.ts
 * RebuildProgress): its step, why it runs, the versions from -> to, the
 * build's windows done / total, and until when the previous version is kept.
 */
export function RebuildLine({ rb }: { rb: unknown }) {
  if (!rb || typeof rb !== "object") return null;
  const r = rb as Row;
  const windows =
    r.windows_total === null || r.windows_total === undefined
      ? `${num(r.windows_done)} windows`
      : `windows ${num(r.windows_done)} / ${num(r.windows_total)}`;
  return (
    <div class="hint" data-rebuild={String(r.stage)}>
      {`rebuild ${String(r.stage)} · reason: ${rebuildReasonLabel(r.reason)} · ${version(r.from_version)} → ${version(r.to_version)} · ${windows}`}
      {r.keep_until ? (
        <span
          title={when(r.keep_until)}
        >{` · keeps ${version(r.from_version)} until ${when(r.keep_until)}`}</span>
      ) : null}
      {r.reason_detail ? <div class="muted">{String(r.reason_detail)}</div> : null}
    </div>
  );
}

export function JobCard({
  j,
  session,
  openLetters,
}: {
  j: Row;
  session: Session;
  openLetters: number;
}) {
  const reasons = attentionReasons(j, openLetters);
  const health = String(j.sync_health);
  const cls =
    reasons.length > 0
      ? "attention"
      : health === "running"
        ? "busy"
        : health === "disabled"
          ? "off"
          : "";
  const run = j.latest_run_id as string | null;
  const active = j.latest_run_status === "running" || j.latest_run_status === "queued";
  return (
    <article
      class={`card job ${cls}`}
      aria-labelledby={`job-${j.id}`}
      data-job={String(j.collection_name)}
    >
      <h3 id={`job-${j.id}`}>
        <span class="mono">{String(j.collection_name)}</span>
        <Badge value={health} />
        {j.is_stale ? <Badge value="stale" /> : null}
      </h3>
      <p class="hint mono">
        {`${j.source_client_name}/${j.source_schema_name}.${j.source_table_name}`}
      </p>
      {reasons.length > 0 ? (
        <ul class="why" aria-label="Needs attention">
          {reasons.map((r) => (
            <li>{r}</li>
          ))}
        </ul>
      ) : null}
      <dl class="kv">
        <dt>Last sync</dt>
        <dd title={when(j.last_synced_at)}>
          {ago(j.last_synced_at)}{" "}
          {j.last_sync_status ? <Badge value={String(j.last_sync_status)} /> : null}
        </dd>
        <dt>Next sync</dt>
        <dd title={when(j.next_sync_at)}>{j.enabled ? ago(j.next_sync_at) : "disabled"}</dd>
        <dt>Source rows</dt>
        <dd>{num(j.last_source_row_count)}</dd>
        <dt>Imported / failed</dt>
        <dd>{`${num(j.last_imported_count)} / ${num(j.last_failed_count)}`}</dd>
        {j.cdc_enabled ? (
          <>
            <dt>CDC</dt>
            <dd>
              <Badge value={(j.cdc_status as string | null) ?? "unknown"} /> lag {lag(j.cdc_lag_ms)}{" "}
              · retained WAL {bytes(j.cdc_retained_wal_bytes)}
            </dd>
          </>
        ) : null}
        <LastAuditRow audit={j.last_audit as Row | null | undefined} />
        {run ? (
          <>
            <dt>Latest run</dt>
            <dd>
              <Badge value={String(j.latest_run_status)} /> {String(j.latest_run_stage)} ·{" "}
              <Progress
                processed={j.latest_run_manifest_processed_rows}
                total={j.latest_run_manifest_total_rows}
                kind={j.latest_run_progress_total_kind}
              />
              {Number(j.latest_run_retry_attempt_count ?? 0) > 0
                ? ` · ${num(j.latest_run_retry_attempt_count)} retries`
                : ""}
              {j.latest_run_rollback_status && j.latest_run_rollback_status !== "not_needed"
                ? ` · rollback ${String(j.latest_run_rollback_status)}`
                : ""}
              <RebuildLine rb={j.latest_run_rebuild} />
            </dd>
          </>
        ) : null}
      </dl>
      <div class="actions">
        <form method="post" action={`/console/jobs/${seg(j.id)}/run`} class="inline">
          <Csrf session={session} />
          <button
            type="submit"
            class="small"
            disabled={active}
            aria-label={`Run ${String(j.collection_name)} now`}
          >
            {active ? "Running…" : "Run now"}
          </button>
        </form>
        <form method="post" action={`/console/jobs/${seg(j.id)}/audit`} class="inline">
          <Csrf session={session} />
          <button
            type="submit"
            class="small secondary"
            aria-label={`Audit ${String(j.collection_name)} now`}
          >
            Audit
          </button>
        </form>
        <a class="button small secondary" href={`/console/jobs/${seg(j.id)}/edit`}>
          Edit
        </a>
        {/* a confirm page first (console/rebuild.tsx): a rebuild rewrites the whole collection */}
        <a
          class="button small secondary"
          href={`/console/jobs/${seg(j.id)}/rebuild`}
          aria-label={`Rebuild ${String(j.collection_name)}`}
        >
          Rebuild…
        </a>
        <a class="button small secondary" href={`/console/search?job_id=${seg(j.id)}`}>
          Search
        </a>
        {openLetters > 0 ? (
          <a class="button small secondary" href={`/console/dead-letters?job_id=${seg(j.id)}`}>
            Dead letters
          </a>
        ) : null}
      </div>
    </article>
  );
}

/** The job's last drift audit (docs/audit.md): when, what it found, what it repaired. */
function LastAuditRow({ audit }: { audit: Row | null | undefined }) {
  if (!audit) return null;
  const repaired = (audit.repaired ?? {}) as Row;
  const found = `${num(audit.missing)} missing · ${num(audit.extra)} extra · ${num(audit.differing)} differing`;
  const fixed = `repaired ${num(repaired.missing)} / ${num(repaired.extra)} / ${num(repaired.differing)}`;
  return (
    <>
      <dt>Last audit</dt>
      <dd title={when(audit.finished_at)} data-audit={String(audit.id)}>
        {ago(audit.finished_at)} <Badge value={String(audit.status)} />{" "}
        {audit.status === "failed"
          ? String(audit.error ?? "")
          : `${found} · ${audit.repair_skipped ? `not repaired: ${String(audit.repair_skipped)}` : fixed}`}
      </dd>
    </>
  );
}

function duration(r: Row): string {
  const start = typeof r.started_at === "string" ? Date.parse(r.started_at) : Number.NaN;
  if (!Number.isFinite(start)) return "–";
  const end = typeof r.finished_at === "string" ? Date.parse(r.finished_at) : Date.now();
  const s = (end - start) / 1000;
  return s < 10 ? `${s.toFixed(1)} s` : span(s);
}

export function RunsTable({ runs, names }: { runs: Row[]; names: Map<string, string> }) {
  return (
    <div class="scroll card">
      <table>
        <caption class="muted">
          Most recent runs first. Estimated totals are shown as “about”.
        </caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Trigger</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col" class="num">
              Imported
            </th>
            <th scope="col" class="num">
              Unchanged
            </th>
            <th scope="col" class="num">
              Failed
            </th>
            <th scope="col" class="num">
              Deleted
            </th>
            <th scope="col" class="num">
              Retries
            </th>
            <th scope="col">Rollback</th>
            <th scope="col">Started</th>
            <th scope="col">Took</th>
          </tr>
        </thead>
        <tbody>
          {runs.length === 0 ? (
            <tr>
              <td colspan={12} class="muted">
                No runs yet.
              </td>
            </tr>
          ) : null}
          {runs.map((r) => (
            <tr data-run={String(r.id)}>
              <td class="mono">{names.get(String(r.job_id)) ?? String(r.job_id)}</td>
              <td>{String(r.trigger)}</td>
              <td>
                <Badge value={String(r.status)} /> <span class="muted">{String(r.stage)}</span>
                {r.error_message ? <div class="field-error">{String(r.error_message)}</div> : null}
                {r.stage_message && !r.error_message ? (
                  <div class="hint">{String(r.stage_message)}</div>
                ) : null}
              </td>
              <td>
                <Progress
                  processed={r.manifest_processed_rows}
                  total={r.manifest_total_rows}
                  kind={r.progress_total_kind}
                />
                {Number(r.resume_attempt_count ?? 0) > 0 ? (
                  <div class="hint">resumed {num(r.resume_attempt_count)}×</div>
                ) : null}
                <RebuildLine rb={r.rebuild} />
              </td>
              <td class="num">{num(r.imported_count)}</td>
              <td class="num">{num(r.unchanged_count)}</td>
              <td class="num">{num(r.failed_count)}</td>
              <td class="num">{num(r.deleted_count)}</td>
              <td class="num">{num(r.retry_attempt_count)}</td>
              <td>
                {r.rollback_attempted ? (
                  <>
                    <Badge value={String(r.rollback_status)} />{" "}
                    {`restored ${num(r.rollback_restored_count)}, deleted ${num(r.rollback_deleted_count)}`}
                    {r.rollback_error_message ? (
                      <div class="field-error">{String(r.rollback_error_message)}</div>
                    ) : null}
                  </>
                ) : (
                  <span class="muted">not needed</span>
                )}
              </td>
              <td title={when(r.started_at ?? r.created_at)}>
                {ago(r.started_at ?? r.created_at)}
              </td>
              <td>{duration(r)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
