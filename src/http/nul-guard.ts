import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "./env.js";
import { failure, type IssueView } from "./envelope.js";

const NUL = "\u0000";
const MESSAGE = "must not contain NUL characters (\\u0000)";
const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\b/i;

/**
 * NUL (U+0000) is refused in every path segment, query parameter and JSON
 * string (keys and values) of every request, with a 400 whose message and
 * `error.issues` name the field ("param.job_id", "query.q", "body.rights.0").
 * Postgres cannot store NUL in text or jsonb (error 22021/22P05), so without
 * this a NUL reaching SQL is a 500; one check here covers every route,
 * including routes added later, instead of a refinement in each schema.
 *
 * Runs after auth (headers only) and the body limit, before the route's zod
 * validation. The body is read through Hono's cached `c.req.json()`, so the
 * validator reads the same parse; a body that is not JSON is left to it.
 */
export const refuseNulBytes: MiddlewareHandler<AppEnv> = async (c, next) => {
  const issues = [...pathIssues(c), ...queryIssues(new URL(c.req.url).searchParams)];
  if (issues.length === 0 && JSON_TYPE.test(c.req.header("content-type") ?? "")) {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch (e) {
      // malformed JSON: the route's validator answers 400; anything else (body limit) propagates
      if (!(e instanceof SyntaxError)) throw e;
    }
    issues.push(...jsonIssues(body));
  }
  if (issues.length === 0) return next();
  return c.json(
    failure("VALIDATION_FAILED", `Invalid request: ${issues[0]!.path} ${MESSAGE}`, {
      issues: issues.slice(0, 20),
    }),
    400,
  );
};

const issue = (path: string): IssueView => ({ path, message: MESSAGE, code: "invalid_format" });

/** Decoded path segments; a segment matching `:name` in the route is named `param.name`. */
function pathIssues(c: Parameters<MiddlewareHandler<AppEnv>>[0]): IssueView[] {
  const raw = c.req.path.split("/");
  const bad = raw.flatMap((s, i) => (decode(s).includes(NUL) ? [i] : []));
  if (bad.length === 0) return [];
  // the route that will answer: the last matched pattern with the request's segment count
  const pattern = matchedRoutes(c)
    .map((r) => r.path.split("/"))
    .filter((p) => p.length === raw.length)
    .at(-1);
  return bad.map((i) => {
    const name = pattern?.[i]?.match(/^:([A-Za-z0-9_]+)/)?.[1];
    return issue(name ? `param.${name}` : `path.${i}`);
  });
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // malformed escapes are the router's business (404)
  }
}

function queryIssues(params: URLSearchParams): IssueView[] {
  const out: IssueView[] = [];
  for (const [k, v] of params) {
    if (k.includes(NUL) || v.includes(NUL))
      out.push(issue(`query.${k.replaceAll(NUL, "\\u0000")}`));
  }
  return out;
}

/** Every string in a parsed JSON value, walked without recursion (bodies may nest deeply). */
function jsonIssues(root: unknown): IssueView[] {
  const out: IssueView[] = [];
  const stack: { v: unknown; path: string }[] = [{ v: root, path: "body" }];
  while (stack.length > 0 && out.length < 20) {
    const { v, path } = stack.pop()!;
    if (typeof v === "string") {
      if (v.includes(NUL)) out.push(issue(path));
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => {
        stack.push({ v: x, path: `${path}.${i}` });
      });
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        const p = `${path}.${k.replaceAll(NUL, "\\u0000")}`;
        if (k.includes(NUL)) out.push(issue(p));
        stack.push({ v: x, path: p });
      }
    }
  }
  return out.reverse();
}
