import { z } from "@hono/zod-openapi";
import { LineCounter, parseDocument } from "yaml";
import { JobCreate, JobPatch } from "../../db/repositories/job-schema.js";
import { ServiceError } from "../../errors/service-error.js";

/**
 * The jobs file (`athena-typesense-sync jobs export | plan | apply`): saved
 * backends and sync jobs as YAML, for configuration kept in git
 * (docs/operations.md, "Declarative jobs").
 *
 * A job entry is the API's job body (db/repositories/job-schema.ts, the ONE
 * field definition: a field added there, such as `document`, is a field of
 * the file with no change here) with `backend: <name>` in place of
 * profile_id. API keys are `${ENV_VAR}` references only: a literal key is
 * refused, because this file is meant to be committed.
 */

export const JOBS_FILE_VERSION = 1;

/** `${NAME}`: the whole value is one environment variable reference. */
const ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

const BackendName = z.string().trim().min(1).max(200);
const NodeUrl = z.string().min(1).max(2000);

const BackendEntry = z
  .object({
    /** Identity: a backend is matched by its name (unique in the control DB). */
    name: BackendName,
    /** The backend's name before a rename: matched by it when no backend has `name` yet. */
    renamed_from: BackendName.optional(),
    base_url: NodeUrl,
    additional_node_urls: z.array(NodeUrl).max(10).optional(),
    api_key: z
      .string()
      .regex(
        ENV_REF,
        "must be an environment variable reference like ${TYPESENSE_API_KEY}: a literal key is refused in a jobs file (it is meant to be committed)",
      ),
    timeout_ms: z.number().int().min(1).max(600_000).optional(),
  })
  .strict();

const JobEntry = JobPatch.omit({ profile_id: true })
  .extend({
    /** The saved backend the job writes to, by name (in this file or already saved). */
    backend: BackendName,
    collection_name: JobCreate.shape.collection_name,
    /** The job's key before a move (new collection and/or backend): matched by it. */
    moved_from: z
      .object({ backend: BackendName.optional(), collection_name: z.string().min(1).max(200) })
      .partial()
      .strict()
      .optional(),
  })
  .strict();

const JobsFile = z
  .object({
    version: z.literal(JOBS_FILE_VERSION),
    backends: z.array(BackendEntry).default([]),
    jobs: z.array(JobEntry).default([]),
  })
  .strict();

type JobEntryOut = z.output<typeof JobEntry>;

/** A backend as the file wants it, its key expanded from the environment. */
export interface DesiredBackend {
  /** Position in the file's `backends` list (messages name it: backends[0]). */
  index: number;
  name: string;
  renamedFrom: string | undefined;
  base_url: string;
  additional_node_urls: string[] | undefined;
  timeout_ms: number | undefined;
  /** The variable the key comes from (plan output shows this, never the key). */
  apiKeyVar: string;
  /** The expanded key: compared and written, never printed or logged. */
  apiKey: string;
}

/** The job fields an entry sets (profile_id comes from `backend`). */
export type JobEntryFields = Omit<JobEntryOut, "backend" | "moved_from">;

export interface DesiredJob {
  /** Position in the file's `jobs` list. */
  index: number;
  backend: string;
  collection: string;
  movedFrom: { backend: string; collection: string } | undefined;
  /** The fields the entry names: a field left out is not managed by the file. */
  fields: JobEntryFields;
}

export interface JobsFileSpec {
  /** The file's path as given (messages name it). */
  file: string;
  backends: DesiredBackend[];
  jobs: DesiredJob[];
  /** 1-based line of a path's value in the file (the nearest existing parent's). */
  locate(path: readonly PropertyKey[]): number | undefined;
}

/** An issue at `path` of the spec's file, with its line. */
export function fileIssue(
  spec: JobsFileSpec,
  path: readonly PropertyKey[],
  message: string,
): JobsFileIssue {
  return { path: formatPath(path), line: spec.locate(path), message };
}

export interface JobsFileIssue {
  /** "jobs[2].window_size"; "" = the file itself. */
  path: string;
  /** 1-based line of the value in the file, when known. */
  line: number | undefined;
  message: string;
}

/** A jobs file that cannot be applied; the message lists every issue with file, line and field. */
export class JobsFileError extends ServiceError {
  override readonly name = "JobsFileError";
  constructor(
    readonly file: string,
    readonly issues: JobsFileIssue[],
  ) {
    super(
      "CONFIG_INVALID",
      `invalid jobs file ${file}:\n${issues.map((i) => `  - ${describeIssue(file, i)}`).join("\n")}`,
    );
  }
}

function describeIssue(file: string, i: JobsFileIssue): string {
  const where = i.line === undefined ? file : `${file}:${i.line}`;
  return `${i.path || "(file)"} (${where}): ${i.message}`;
}

/** ["jobs", 2, "window_size"] -> "jobs[2].window_size". */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
}

/**
 * Parses and validates a jobs file: YAML, the schema (every issue, named by
 * path and line), `${VAR}` keys (an unset or empty variable is named), and
 * the file's own consistency (duplicate names and keys). Nothing here reads
 * the database or the process environment: `env` is passed in.
 */
export function parseJobsFile(
  text: string,
  file: string,
  env: Record<string, string | undefined>,
): JobsFileSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new JobsFileError(
      file,
      doc.errors.map((e) => ({
        path: "",
        line: e.linePos?.[0]?.line,
        message: `not valid YAML: ${e.message}`,
      })),
    );
  }
  const lineOf = (path: readonly PropertyKey[]): number | undefined => {
    // the nearest node that exists: a missing key is reported at its parent
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] };
      if (node?.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const parsed = JobsFile.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    throw new JobsFileError(file, schemaIssues(parsed.error.issues, lineOf));
  }
  const issues: JobsFileIssue[] = [];
  const issue = (path: PropertyKey[], message: string) =>
    issues.push({ path: formatPath(path), line: lineOf(path), message });
  const backends = parsed.data.backends.map((b, i): DesiredBackend => {
    const name = ENV_REF.exec(b.api_key)?.[1] ?? "";
    const key = env[name];
    if (key === undefined || key === "") {
      issue(["backends", i, "api_key"], `environment variable ${name} is not set`);
    } else if (key.length > 500) {
      issue(["backends", i, "api_key"], `environment variable ${name} is longer than 500 chars`);
    }
    return {
      index: i,
      name: b.name,
      renamedFrom: b.renamed_from,
      base_url: b.base_url,
      additional_node_urls: b.additional_node_urls,
      timeout_ms: b.timeout_ms,
      apiKeyVar: name,
      apiKey: key ?? "",
    };
  });
  const jobs = parsed.data.jobs.map((j, i): DesiredJob => {
    const { backend, moved_from, ...fields } = j;
    return {
      index: i,
      backend,
      collection: j.collection_name,
      movedFrom: moved_from
        ? {
            backend: moved_from.backend ?? backend,
            collection: moved_from.collection_name ?? j.collection_name,
          }
        : undefined,
      fields,
    };
  });
  checkDuplicates(backends, jobs, issue);
  if (issues.length > 0) throw new JobsFileError(file, issues);
  return { file, backends, jobs, locate: lineOf };
}

function schemaIssues(
  zodIssues: z.core.$ZodIssue[],
  lineOf: (path: readonly PropertyKey[]) => number | undefined,
): JobsFileIssue[] {
  return zodIssues.flatMap((i) => {
    // unrecognized_keys reports the parent: name each unknown key itself
    if (i.code === "unrecognized_keys") {
      return i.keys.map((k) => ({
        path: formatPath([...i.path, k]),
        line: lineOf([...i.path, k]),
        message: "unknown key",
      }));
    }
    return [{ path: formatPath(i.path), line: lineOf(i.path), message: i.message }];
  });
}

function checkDuplicates(
  backends: DesiredBackend[],
  jobs: DesiredJob[],
  issue: (path: PropertyKey[], message: string) => void,
): void {
  const names = new Map<string, number>();
  backends.forEach((b, i) => {
    const first = names.get(b.name);
    if (first !== undefined) {
      issue(["backends", i, "name"], `backend "${b.name}" is already backends[${first}]`);
    } else names.set(b.name, i);
  });
  backends.forEach((b, i) => {
    if (b.renamedFrom !== undefined && names.has(b.renamedFrom)) {
      issue(
        ["backends", i, "renamed_from"],
        `"${b.renamedFrom}" is also a backend of this file; a rename names the old backend, which the file no longer lists`,
      );
    }
  });
  const keys = new Map<string, number>();
  jobs.forEach((j, i) => {
    const key = `${j.backend}\u0000${j.collection}`;
    const first = keys.get(key);
    if (first !== undefined) {
      issue(
        ["jobs", i, "collection_name"],
        `collection "${j.collection}" on backend "${j.backend}" is already jobs[${first}]`,
      );
    } else keys.set(key, i);
  });
}
