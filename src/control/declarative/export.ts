import { stringify } from "yaml";
import { type CurrentState, FILE_JOB_FIELDS } from "./current-state.js";
import { JOBS_FILE_VERSION } from "./file-format.js";

/** The variable export names for a backend's key: TYPESENSE_API_KEY_<NAME>. */
export function apiKeyVariable(name: string, taken: Set<string>): string {
  const base = `TYPESENSE_API_KEY_${name
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")}`;
  let v = base.replace(/_$/, "");
  for (let n = 2; taken.has(v); n++) v = `${base}_${n}`;
  taken.add(v);
  return v;
}

export interface ExportedFile {
  yaml: string;
  /** backend name -> the variable its key must be in for plan/apply. */
  keyVariables: Record<string, string>;
}

/**
 * The control DB's backends and jobs as a jobs file. Every managed field is
 * written (a field added to the job schema is exported with no change here),
 * so the file describes each object fully and `apply` of it on the same
 * database changes nothing. Keys are never written: each backend's api_key is
 * a `${VAR}` placeholder the operator fills in the environment.
 */
export function exportJobsFile(state: CurrentState): ExportedFile {
  const taken = new Set<string>();
  const keyVariables: Record<string, string> = {};
  const nameOf = new Map(state.backends.map((b) => [b.id, b.name]));
  const backends = state.backends.map((b) => {
    const v = apiKeyVariable(b.name, taken);
    keyVariables[b.name] = v;
    return {
      name: b.name,
      base_url: b.base_url,
      additional_node_urls: b.additional_node_urls,
      api_key: `\${${v}}`,
      timeout_ms: b.timeout_ms,
    };
  });
  const jobs = [...state.jobs]
    .map((j) => {
      const stored = j as unknown as Record<string, unknown>;
      const entry: Record<string, unknown> = {
        backend: nameOf.get(j.profile_id) ?? j.profile_id,
        collection_name: j.collection_name,
      };
      for (const f of FILE_JOB_FIELDS) if (f !== "collection_name") entry[f] = stored[f] ?? null;
      return entry;
    })
    .sort((a, b) =>
      `${a.backend}/${a.collection_name}` < `${b.backend}/${b.collection_name}` ? -1 : 1,
    );
  const header =
    '# athena-typesense-sync jobs file (docs/operations.md, "Declarative jobs").\n' +
    "# `jobs plan --file F` shows what `jobs apply --file F` would change.\n" +
    "# API keys are never written here: set each ${VAR} in the environment.\n";
  const body = stringify({ version: JOBS_FILE_VERSION, backends, jobs }, { lineWidth: 0 });
  return { yaml: header + body, keyVariables };
}
