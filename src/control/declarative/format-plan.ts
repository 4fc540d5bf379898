import {
  type BackendChange,
  canonical,
  type FieldChange,
  type JobChange,
  type Plan,
} from "./plan.js";

/** A value on one line: JSON (strings quoted, so "" and " x" are visible). */
const show = (v: unknown) => (v === undefined ? "(unset)" : JSON.stringify(v));

function fieldLine(c: FieldChange, create: boolean): string {
  // a key is never shown: only the variable it is read from
  if (c.secret)
    return `    ${c.field}: ${create ? String(c.after) : `(stored key differs from ${String(c.after)})`}`;
  return create
    ? `    ${c.field}: ${show(c.after)}`
    : `    ${c.field}: ${show(c.before)} -> ${show(c.after)}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * The leaves where two JSON values differ, each with its path
 * (`document.fields[3]`, `document.filter`): a spec change reads as the
 * parts that change, not as two one-line specs. Objects by key (the new
 * value's order first), arrays by position.
 */
export function jsonChanges(
  before: unknown,
  after: unknown,
  path: string,
  out: FieldChange[] = [],
): FieldChange[] {
  if (canonical(before) === canonical(after)) return out;
  if (isRecord(before) && isRecord(after)) {
    for (const k of new Set([...Object.keys(after), ...Object.keys(before)])) {
      jsonChanges(before[k], after[k], `${path}.${k}`, out);
    }
  } else if (Array.isArray(before) && Array.isArray(after)) {
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      jsonChanges(before[i], after[i], `${path}[${i}]`, out);
    }
  } else {
    out.push({ field: path, before, after });
  }
  return out;
}

/** An update's field lines: a document spec as the paths that change, with no spec as `{}`. */
function updateLines(f: FieldChange): string[] {
  if (f.field !== "document") return [fieldLine(f, false)];
  return jsonChanges(f.before ?? {}, f.after ?? {}, "document").map((c) => fieldLine(c, false));
}

function backendLines(c: BackendChange): string[] {
  switch (c.action) {
    case "create": {
      const { api_key: _never_shown, ...rest } = c.input;
      const fields = Object.entries(rest)
        .filter(([, v]) => v !== undefined)
        .map(([field, after]) => fieldLine({ field, before: null, after }, true));
      return [
        `+ backend "${c.desired.name}"`,
        ...fields,
        fieldLine(
          { field: "api_key", before: null, after: `\${${c.desired.apiKeyVar}}`, secret: true },
          true,
        ),
      ];
    }
    case "update":
      if (c.changes.length === 0) return [];
      return [
        `~ backend "${c.desired.name}"${c.current.name === c.desired.name ? "" : ` (renamed from "${c.current.name}")`}`,
        ...c.changes.map((f) => fieldLine(f, false)),
      ];
    case "delete":
      return [`- backend "${c.current.name}"`];
    case "unlisted":
      return [`  backend "${c.current.name}": not in the file, kept (--prune deletes it)`];
  }
}

function jobLines(c: JobChange): string[] {
  switch (c.action) {
    case "create":
      return [
        `+ job ${c.desired.backend}/${c.desired.collection}`,
        ...Object.entries(c.input)
          // null: the field's "none" (document: no spec), as a new job has it anyway
          .filter(([k, v]) => v !== undefined && v !== null && k !== "collection_name")
          .map(([field, after]) => fieldLine({ field, before: null, after }, true)),
      ];
    case "update": {
      if (c.changes.length === 0) return [];
      const label = `${c.desired.backend}/${c.desired.collection}`;
      const moved = label === c.label ? "" : ` (was ${c.label})`;
      const resync =
        c.retarget.length > 0 ? " [retarget: a full resync of the new target follows]" : "";
      // a spec change that needs a new collection: the live one serves until the swap
      const rebuild = c.rebuild
        ? ` [rebuild: a new collection version is built and swapped in (${c.rebuild})]`
        : "";
      return [`~ job ${label}${moved}${resync}${rebuild}`, ...c.changes.flatMap(updateLines)];
    }
    case "delete":
      return [`- job ${c.label}`];
    case "unlisted":
      return [`  job ${c.label}: not in the file, kept (--prune deletes it)`];
  }
}

/** Counts by action, for the summary line. */
export function planCounts(
  plan: Plan,
): Record<"create" | "update" | "delete" | "unlisted", number> {
  const n = { create: 0, update: 0, delete: 0, unlisted: 0 };
  for (const c of [...plan.backends, ...plan.jobs]) {
    if (c.action === "update" && c.changes.length === 0) continue;
    n[c.action]++;
  }
  return n;
}

/**
 * The plan as text: a summary line, then one block per object that changes
 * (`+` create, `~` update with each changed field before -> after, `-`
 * delete), then the objects the file does not list. API keys appear only as
 * the variable they come from.
 */
export function formatPlan(plan: Plan): string {
  const n = planCounts(plan);
  const kept = n.unlisted > 0 ? `, ${n.unlisted} not in the file (kept; --prune deletes them)` : "";
  const head =
    n.create + n.update + n.delete === 0
      ? `No changes: the control database matches ${plan.file}${kept}.`
      : `Plan for ${plan.file}: ${n.create} to create, ${n.update} to update, ${n.delete} to delete${kept}.`;
  const blocks = [...plan.backends.map(backendLines), ...plan.jobs.map(jobLines)].filter(
    (b) => b.length > 0,
  );
  return `${[head, ...blocks.map((b) => b.join("\n"))].join("\n\n")}\n`;
}
