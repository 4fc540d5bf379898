import type { ApiResult } from "./api-client.js";

/** Field name -> message; `_form` holds what belongs to no single field. */
export type FieldErrors = Record<string, string>;

interface ErrorDetail {
  issues?: { path?: string; message?: string }[];
  /** DOCUMENT_SPEC_INVALID: each problem at its JSON path (`document.lookups[0].on`). */
  problems?: { path?: string; message?: string }[];
  field?: string;
  column?: string;
}

/**
 * Turns an API error envelope into messages next to form fields:
 *   zod issues   {issues: [{path: "body.base_url", message}]}  -> base_url
 *   control      {field: "document_id_column"}                   -> that field
 *   catalog      {column: "title"}                               -> columnField(column)
 *   spec         {problems: [{path: "document.fields[0].sql"}]}  -> document (the path's head)
 * Anything else is shown above the form.
 */
export function fieldErrors(
  r: ApiResult,
  columnField: (column: string) => string = () => "_form",
): FieldErrors {
  const out: FieldErrors = {};
  const d = (r.error ?? {}) as ErrorDetail;
  const put = (name: string, msg: string) => {
    out[name] = out[name] ? `${out[name]}; ${msg}` : msg;
  };
  if (Array.isArray(d.issues) && d.issues.length > 0) {
    for (const i of d.issues) {
      const parts = String(i.path ?? "").split(".");
      const name = parts[0] === "body" ? (parts[1] ?? "_form") : "_form";
      put(name, i.message ?? "invalid");
    }
    return out;
  }
  if (Array.isArray(d.problems) && d.problems.length > 0) {
    for (const p of d.problems) {
      const path = String(p.path ?? "");
      put(path.split(/[.[]/)[0] || "_form", `${path}: ${p.message ?? "invalid"}`);
    }
    return out;
  }
  if (typeof d.field === "string") {
    put(d.field.split(".")[0] ?? "_form", r.message);
    return out;
  }
  if (typeof d.column === "string") {
    put(columnField(d.column), r.message);
    return out;
  }
  put("_form", r.message || `request failed (${r.status})`);
  return out;
}

/** The errors not tied to a visible field, for the box above the form. */
export function formLevel(errors: FieldErrors, shown: readonly string[]): string[] {
  return Object.entries(errors)
    .filter(([k]) => !shown.includes(k))
    .map(([k, v]) => (k === "_form" ? v : `${k}: ${v}`));
}
