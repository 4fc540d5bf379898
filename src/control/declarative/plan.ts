import { JobCreate, type JobInput, RETARGET_FIELDS } from "../../db/repositories/job-schema.js";
import { type BackendInput, checkNodeUrl } from "../backends.js";
import {
  type CurrentBackend,
  type CurrentState,
  FILE_JOB_FIELDS,
  type StoredJob,
} from "./current-state.js";
import {
  type DesiredBackend,
  type DesiredJob,
  fileIssue,
  JobsFileError,
  type JobsFileIssue,
  type JobsFileSpec,
} from "./file-format.js";

/** One field a change sets: values as stored (a key is never held here: see `secret`). */
export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
  /** api_key: the values are not shown; `after` names the variable. */
  secret?: boolean;
}

export type BackendChange =
  | { action: "create"; desired: DesiredBackend; input: BackendInput }
  | {
      action: "update";
      desired: DesiredBackend;
      current: CurrentBackend;
      changes: FieldChange[];
      patch: Partial<BackendInput>;
    }
  | { action: "delete" | "unlisted"; current: CurrentBackend };

/** A job's profile: a saved backend's id, or a backend this apply creates (by name). */
export type ProfileRef = { id: string } | { created: string };

export type JobChange =
  | {
      action: "create";
      desired: DesiredJob;
      profile: ProfileRef;
      input: Omit<JobInput, "profile_id">;
    }
  | {
      action: "update";
      desired: DesiredJob;
      current: StoredJob;
      label: string;
      profile: ProfileRef | null;
      changes: FieldChange[];
      patch: Partial<Omit<JobInput, "profile_id">>;
      /** The retarget fields this update changes (a full resync follows). */
      retarget: string[];
      /**
       * The spec change needs a new collection: its reasons, one line (a
       * rebuild follows). Set by checkPlanSources (it needs the catalog).
       */
      rebuild?: string;
    }
  | { action: "delete" | "unlisted"; current: StoredJob; label: string };

export interface Plan {
  file: string;
  prune: boolean;
  backends: BackendChange[];
  jobs: JobChange[];
}

export interface PlanOptions {
  /** Objects not in the file are deleted (else listed and kept). */
  prune: boolean;
  /** typesense.allow_http of the config (node URLs are checked as the API does). */
  allowHttp: boolean;
}

/** Stable JSON: object keys sorted, so a jsonb value read back compares equal. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** Whether applying the plan would write anything. */
export function hasChanges(plan: Plan): boolean {
  const writes = (c: BackendChange | JobChange) =>
    c.action === "update" ? c.changes.length > 0 : c.action !== "unlisted";
  return plan.backends.some(writes) || plan.jobs.some(writes);
}

/**
 * The changes that make the control DB match the file. Pure: it compares the
 * file with `current` (read by readCurrentState) and checks what needs no
 * database (node URLs, a job's required fields, references, keys matched
 * twice). Every issue is collected and thrown together as one JobsFileError.
 *
 * Identity (docs/operations.md): a backend is its name, a job is (backend
 * name, collection_name), both unique in the control DB and chosen by the
 * operator; `renamed_from` / `moved_from` name the old key of a rename.
 */
export function computePlan(spec: JobsFileSpec, current: CurrentState, opts: PlanOptions): Plan {
  const issues: JobsFileIssue[] = [];
  const backends = planBackends(spec, current, opts, issues);
  const matched = new Map<string, CurrentBackend>();
  for (const c of backends) if (c.action === "update") matched.set(c.desired.name, c.current);
  const jobs = planJobs(spec, current, matched, opts, issues);
  if (opts.prune) checkPrunedBackendsUnused(spec, backends, jobs, issues);
  if (issues.length > 0) throw new JobsFileError(spec.file, issues);
  return { file: spec.file, prune: opts.prune, backends, jobs };
}

function planBackends(
  spec: JobsFileSpec,
  current: CurrentState,
  opts: PlanOptions,
  issues: JobsFileIssue[],
): BackendChange[] {
  const byName = new Map(current.backends.map((b) => [b.name, b]));
  const claimed = new Set<string>();
  const out: BackendChange[] = [];
  for (const d of spec.backends) {
    const urls = checkedUrls(spec, d, opts.allowHttp, issues);
    if (!urls) continue;
    const desired = { ...d, ...urls };
    const own = byName.get(d.name);
    const old = d.renamedFrom === undefined ? undefined : byName.get(d.renamedFrom);
    if (own && old) {
      issues.push(
        fileIssue(
          spec,
          ["backends", d.index, "renamed_from"],
          `backends "${d.name}" and "${d.renamedFrom}" both exist: rename or delete one of them first`,
        ),
      );
      continue;
    }
    const m = own ?? old;
    if (!m) {
      out.push({ action: "create", desired, input: backendInput(desired) });
      continue;
    }
    claimed.add(m.id);
    const { changes, patch } = diffBackend(desired, m);
    out.push({ action: "update", desired, current: m, changes, patch });
  }
  for (const b of current.backends) {
    if (!claimed.has(b.id)) out.push({ action: opts.prune ? "delete" : "unlisted", current: b });
  }
  return out;
}

/** base_url and node URLs as the API stores them (trailing slashes dropped), or null + issues. */
function checkedUrls(
  spec: JobsFileSpec,
  d: DesiredBackend,
  allowHttp: boolean,
  issues: JobsFileIssue[],
): { base_url: string; additional_node_urls: string[] | undefined } | null {
  const check = (url: string, path: PropertyKey[]) => {
    try {
      return checkNodeUrl(url, allowHttp, path.at(-1) === "base_url" ? "base_url" : "node URL");
    } catch (e) {
      issues.push(fileIssue(spec, path, (e as Error).message));
      return null;
    }
  };
  const base = check(d.base_url, ["backends", d.index, "base_url"]);
  const nodes = d.additional_node_urls?.map((u, i) =>
    check(u, ["backends", d.index, "additional_node_urls", i]),
  );
  if (base === null || nodes?.some((n) => n === null)) return null;
  return { base_url: base, additional_node_urls: nodes as string[] | undefined };
}

function backendInput(d: DesiredBackend): BackendInput {
  return {
    name: d.name,
    base_url: d.base_url,
    additional_node_urls: d.additional_node_urls,
    api_key: d.apiKey,
    timeout_ms: d.timeout_ms,
  };
}

/** A field left out of the entry keeps its value; the key is compared, never shown. */
function diffBackend(
  d: DesiredBackend,
  m: CurrentBackend,
): { changes: FieldChange[]; patch: Partial<BackendInput> } {
  const changes: FieldChange[] = [];
  const patch: Partial<BackendInput> = {};
  const field = <K extends "name" | "base_url" | "additional_node_urls" | "timeout_ms">(
    k: K,
    v: BackendInput[K] | undefined,
  ) => {
    if (v === undefined || same(m[k], v)) return;
    changes.push({ field: k, before: m[k], after: v });
    patch[k] = v;
  };
  field("name", d.name);
  field("base_url", d.base_url);
  field("additional_node_urls", d.additional_node_urls);
  field("timeout_ms", d.timeout_ms);
  const keyDiffers = m.apiKey !== d.apiKey;
  if (keyDiffers) {
    changes.push({ field: "api_key", before: null, after: `\${${d.apiKeyVar}}`, secret: true });
  }
  // a new address must carry the key (updateBackend refuses otherwise): the
  // file's key is the one for the new address
  if (keyDiffers || patch.base_url !== undefined || patch.additional_node_urls !== undefined) {
    patch.api_key = d.apiKey;
  }
  return { changes, patch };
}

/** How file names resolve to saved objects: backends (a renamed one too) and jobs by key. */
function jobIndex(
  spec: JobsFileSpec,
  current: CurrentState,
  matchedBackends: Map<string, CurrentBackend>,
) {
  const nameOf = new Map(current.backends.map((b) => [b.id, b.name]));
  const savedByName = new Map(current.backends.map((b) => [b.name, b]));
  const inFile = new Set(spec.backends.map((b) => b.name));
  const byKey = new Map(current.jobs.map((j) => [`${j.profile_id}\u0000${j.collection_name}`, j]));
  // a name of the file means the backend the file's entry matched (a renamed one too)
  const resolve = (name: string): ProfileRef | null => {
    if (inFile.has(name)) {
      const m = matchedBackends.get(name);
      return m ? { id: m.id } : { created: name };
    }
    const saved = savedByName.get(name);
    return saved ? { id: saved.id } : null;
  };
  return {
    nameOf,
    resolve,
    labelOf: (j: StoredJob) => `${nameOf.get(j.profile_id) ?? j.profile_id}/${j.collection_name}`,
    find: (ref: ProfileRef | null, collection: string) =>
      ref && "id" in ref ? byKey.get(`${ref.id}\u0000${collection}`) : undefined,
    /** moved_from.backend: the old name as saved now, else as the file names it. */
    findOld: (d: DesiredJob) => {
      if (!d.movedFrom) return undefined;
      const saved = savedByName.get(d.movedFrom.backend);
      const ref = saved ? { id: saved.id } : resolve(d.movedFrom.backend);
      return ref && "id" in ref ? byKey.get(`${ref.id}\u0000${d.movedFrom.collection}`) : undefined;
    },
  };
}

function planJobs(
  spec: JobsFileSpec,
  current: CurrentState,
  matchedBackends: Map<string, CurrentBackend>,
  opts: PlanOptions,
  issues: JobsFileIssue[],
): JobChange[] {
  const { nameOf, resolve, labelOf, find, findOld } = jobIndex(spec, current, matchedBackends);
  const claimed = new Map<string, number>();
  const out: JobChange[] = [];
  for (const d of spec.jobs) {
    const profile = resolve(d.backend);
    if (!profile) {
      issues.push(
        fileIssue(
          spec,
          ["jobs", d.index, "backend"],
          `no backend named "${d.backend}" in this file or in the control database`,
        ),
      );
      continue;
    }
    const old = findOld(d);
    const own = find(profile, d.collection);
    if (own && old && own.id !== old.id) {
      issues.push(
        fileIssue(
          spec,
          ["jobs", d.index, "moved_from"],
          `jobs ${labelOf(own)} and ${labelOf(old)} both exist: delete one of them first`,
        ),
      );
      continue;
    }
    const m = own ?? old;
    if (m) {
      const first = claimed.get(m.id);
      if (first !== undefined) {
        issues.push(
          fileIssue(
            spec,
            ["jobs", d.index],
            `matches the same job as jobs[${first}] (${labelOf(m)})`,
          ),
        );
        continue;
      }
      claimed.set(m.id, d.index);
      out.push(diffJob(d, m, profile, labelOf(m), nameOf));
      continue;
    }
    const created = jobCreateInput(spec, d, issues);
    if (created) out.push({ action: "create", desired: d, profile, input: created });
  }
  for (const j of current.jobs) {
    if (!claimed.has(j.id)) {
      out.push({ action: opts.prune ? "delete" : "unlisted", current: j, label: labelOf(j) });
    }
  }
  return out;
}

/** A new job's body as the API's create validates it (required fields named by path). */
function jobCreateInput(
  spec: JobsFileSpec,
  d: DesiredJob,
  issues: JobsFileIssue[],
): Omit<JobInput, "profile_id"> | null {
  // any valid id: the real one is known at apply (the backend may be created first)
  const r = JobCreate.safeParse({
    ...d.fields,
    profile_id: "00000000-0000-4000-8000-000000000000",
  });
  if (!r.success) {
    for (const i of r.error.issues) {
      const what =
        i.code === "invalid_type" && i.input === undefined ? "required for a new job" : i.message;
      issues.push(fileIssue(spec, ["jobs", d.index, ...i.path], what));
    }
    return null;
  }
  const { profile_id: _set_at_apply, ...input } = r.data;
  return input;
}

function diffJob(
  d: DesiredJob,
  m: StoredJob,
  profile: ProfileRef,
  label: string,
  nameOf: Map<string, string>,
): JobChange {
  const changes: FieldChange[] = [];
  const patch: Record<string, unknown> = {};
  const fields = d.fields as Record<string, unknown>;
  const stored = m as unknown as Record<string, unknown>;
  const moved = !("id" in profile) || profile.id !== m.profile_id;
  if (moved) {
    changes.push({
      field: "backend",
      before: nameOf.get(m.profile_id) ?? m.profile_id,
      after: d.backend,
    });
  }
  for (const f of FILE_JOB_FIELDS) {
    if (fields[f] === undefined || same(stored[f], fields[f])) continue;
    changes.push({ field: f, before: stored[f] ?? null, after: fields[f] });
    patch[f] = fields[f];
  }
  const retarget = RETARGET_FIELDS.filter((f) =>
    f === "profile_id" ? moved : patch[f] !== undefined,
  );
  return {
    action: "update",
    desired: d,
    current: m,
    label,
    profile: moved ? profile : null,
    changes,
    patch: patch as Partial<Omit<JobInput, "profile_id">>,
    retarget,
  };
}

/** With --prune, a backend the file leaves out is deleted: no job of the file may still use it. */
function checkPrunedBackendsUnused(
  spec: JobsFileSpec,
  backends: BackendChange[],
  jobs: JobChange[],
  issues: JobsFileIssue[],
): void {
  const pruned = new Map<string, string>();
  for (const b of backends) if (b.action === "delete") pruned.set(b.current.id, b.current.name);
  for (const j of jobs) {
    if (j.action !== "create" && j.action !== "update") continue;
    const ref = j.action === "update" ? (j.profile ?? { id: j.current.profile_id }) : j.profile;
    if ("id" in ref && pruned.has(ref.id)) {
      issues.push(
        fileIssue(
          spec,
          ["jobs", j.desired.index, "backend"],
          `backend "${pruned.get(ref.id)}" is not in this file, so --prune would delete it while this job uses it: add it to backends`,
        ),
      );
    }
  }
}
