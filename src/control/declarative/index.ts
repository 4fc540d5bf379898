import type { Pools } from "../../db/pool.js";
import { withDeclarativeApplyLock } from "../../db/repositories/declarative-lock.js";
import type { OnRetarget } from "../jobs.js";
import type { SecretBox } from "../secret-box.js";
import { type ApplyResult, applyPlan } from "./apply.js";
import { checkPlanSources } from "./check-sources.js";
import { readCurrentState } from "./current-state.js";
import { type ExportedFile, exportJobsFile } from "./export.js";
import { parseJobsFile } from "./file-format.js";
import { formatPlan } from "./format-plan.js";
import { computePlan, hasChanges, type Plan } from "./plan.js";

export type { ExportedFile } from "./export.js";
export { JobsFileError, type JobsFileIssue } from "./file-format.js";
export type { Plan } from "./plan.js";

/** What the jobs commands need; the CLI builds it from the config (src/cli/jobs.ts). */
export interface DeclarativeDeps {
  pools: Pools;
  box: SecretBox;
  /** typesense.allow_http */
  allowHttp: boolean;
  /** fullsync.window_size: a new job's window_size when the file gives none. */
  windowSize: number;
  /** The API's retarget hook (coordination/retarget.ts startRetargetResync). */
  onRetarget: OnRetarget<{ message: string }>;
}

export interface JobsFileInput {
  /** The file's text and its path (messages name the path). */
  text: string;
  file: string;
  /** The environment `${VAR}` keys are read from (a plain record: the CLI passes process.env). */
  env: Record<string, string | undefined>;
  /** Delete objects the file does not list (default: list them, keep them). */
  prune: boolean;
}

export class ApplyLockedError extends Error {
  constructor() {
    super("another `jobs apply` is running on this control database; try again when it ended");
  }
}

/** Parses the file, reads the control DB and computes and checks the plan: nothing is written. */
async function checkedPlan(deps: DeclarativeDeps, input: JobsFileInput): Promise<Plan> {
  const spec = parseJobsFile(input.text, input.file, input.env);
  const current = await readCurrentState(deps.pools.control, deps.box);
  const plan = computePlan(spec, current, { prune: input.prune, allowHttp: deps.allowHttp });
  await checkPlanSources(spec, plan, deps.pools);
  return plan;
}

/** `jobs plan`: the plan and its text. Throws JobsFileError naming file, line and field. */
export async function planJobsFile(
  deps: DeclarativeDeps,
  input: JobsFileInput,
): Promise<{ plan: Plan; text: string; changes: boolean }> {
  const plan = await checkedPlan(deps, input);
  return { plan, text: formatPlan(plan), changes: hasChanges(plan) };
}

/**
 * `jobs apply`: plans and applies under the apply lock (two applies never
 * interleave; the plan is computed after the lock is taken, so it is against
 * the state it writes over). Everything is checked before the first write.
 * `report` gets the plan text, then one line per object written.
 */
export async function applyJobsFile(
  deps: DeclarativeDeps,
  input: JobsFileInput,
  report: (text: string) => void,
): Promise<ApplyResult> {
  // a file that does not parse fails before the lock and the database
  parseJobsFile(input.text, input.file, input.env);
  const r = await withDeclarativeApplyLock(deps.pools.control, async () => {
    const plan = await checkedPlan(deps, input);
    report(formatPlan(plan));
    if (!hasChanges(plan)) return { created: 0, updated: 0, deleted: 0 };
    return applyPlan(plan, {
      pools: deps.pools,
      policy: { box: deps.box, allowHttp: deps.allowHttp },
      windowSize: deps.windowSize,
      onRetarget: deps.onRetarget,
      report: (line) => report(`${line}\n`),
    });
  });
  if (!r.ran) throw new ApplyLockedError();
  return r.value;
}

/** `jobs export`: the current backends and jobs as a jobs file (keys as `${VAR}`). */
export async function exportJobs(deps: Pick<DeclarativeDeps, "pools">): Promise<ExportedFile> {
  return exportJobsFile(await readCurrentState(deps.pools.control, null));
}
