import { readFileSync, writeFileSync } from "node:fs";
import type { Config } from "../config/index.js";
import {
  ApplyLockedError,
  applyJobsFile,
  type DeclarativeDeps,
  exportJobs,
  JobsFileError,
  planJobsFile,
} from "../control/declarative/index.js";
import { createSecretBox } from "../control/secret-box.js";
import { startRetargetResync } from "../coordination/retarget.js";
import { createPools } from "../db/index.js";
import { ServiceError } from "../errors/service-error.js";
import { createLogger } from "../lifecycle/index.js";

export interface JobsCommandOptions {
  config: Config;
  /** Positionals after `jobs`: ["export" | "plan" | "apply"]. */
  args: string[];
  /** --file: the jobs file (export: where to write; stdout without it). */
  file: string | undefined;
  prune: boolean;
  detailedExitcode: boolean;
  /** The environment `${VAR}` keys are read from (main passes process.env). */
  env: Record<string, string | undefined>;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

const USAGE =
  "usage: athena-typesense-sync jobs export [--file F] | plan --file F | apply --file F\n";

/**
 * `jobs export | plan | apply` (src/control/declarative/). Exit codes: 0 ok
 * (plan: also "no changes" with --detailed-exitcode), 1 runtime failure, 2
 * usage or an invalid jobs file (every issue listed with file, line and
 * field), 3 plan with --detailed-exitcode: changes pending, 4 another apply
 * is running.
 */
export async function runJobsCommand(opts: JobsCommandOptions): Promise<number> {
  const [verb, ...extra] = opts.args;
  const needsFile = verb === "plan" || verb === "apply";
  if (
    (verb !== "export" && !needsFile) ||
    extra.length > 0 ||
    (needsFile && !opts.file) ||
    (opts.prune && !needsFile)
  ) {
    opts.err.write(USAGE);
    return 2;
  }
  let text = "";
  if (needsFile && opts.file) {
    try {
      text = readFileSync(opts.file, "utf8");
    } catch (e) {
      opts.err.write(
        `cannot read ${opts.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`,
      );
      return 2;
    }
  }
  const { config } = opts;
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty });
  const pools = createPools({
    controlUrl: config.control_database_url,
    clients: config.postgres_clients,
    log,
  });
  const deps: DeclarativeDeps = {
    pools,
    box: createSecretBox(config.security.encryption_key),
    allowHttp: config.typesense.allow_http,
    windowSize: config.fullsync.window_size,
    onRetarget: (db, job, changed, rebuild) =>
      startRetargetResync(db, job, changed, config.cdc.enabled, rebuild),
  };
  try {
    if (verb === "export") return await runExport(deps, opts);
    const input = { text, file: opts.file ?? "", env: opts.env, prune: opts.prune };
    if (verb === "plan") {
      const r = await planJobsFile(deps, input);
      opts.out.write(r.text);
      return opts.detailedExitcode && r.changes ? 3 : 0;
    }
    const r = await applyJobsFile(deps, input, (t) => opts.out.write(t));
    opts.out.write(
      `Apply complete: ${r.created} created, ${r.updated} updated, ${r.deleted} deleted.\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof JobsFileError) {
      opts.err.write(`${e.message}\n`);
      return 2;
    }
    if (e instanceof ApplyLockedError) {
      opts.err.write(`${e.message}\n`);
      return 4;
    }
    // a control operation refused mid-apply (a run holds a lease, a name is taken):
    // its message names the object and never a secret
    if (e instanceof ServiceError) {
      opts.err.write(
        `apply stopped: ${e.message}\n(objects written before it stay; run plan to see what is left)\n`,
      );
      return 1;
    }
    throw e;
  } finally {
    await pools.close();
  }
}

async function runExport(deps: DeclarativeDeps, opts: JobsCommandOptions): Promise<number> {
  const r = await exportJobs(deps);
  if (opts.file) writeFileSync(opts.file, r.yaml, { mode: 0o644 });
  else opts.out.write(r.yaml);
  const vars = Object.entries(r.keyVariables);
  if (vars.length > 0) {
    opts.err.write(
      `API keys are not exported; before plan/apply set:\n${vars.map(([b, v]) => `  ${v}  (backend "${b}")`).join("\n")}\n`,
    );
  }
  return 0;
}
