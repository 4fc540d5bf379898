import { expect } from "vitest";
import type { RequestTarget } from "../../src/console/api-client.js";

/** A urlencoded form body; an array value repeats its name (checkbox groups). */
export function formBody(o: Record<string, string | readonly string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) {
    for (const one of typeof v === "string" ? [v] : v) p.append(k, one);
  }
  return p.toString();
}

/** A console form POST as a browser sends it. */
export function formInit(
  body: Record<string, string | readonly string[]>,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: formBody(body),
  };
}

/** Signs in through the console's form; returns the cookie header and the session's CSRF token. */
export async function signIn(
  app: RequestTarget,
  key: string,
  client = "",
): Promise<{ cookie: string; csrf: string; location: string }> {
  const res = await app.request("/console/login", formInit({ key, client }));
  expect(res.status).toBe(303);
  const set = res.headers.get("set-cookie") ?? "";
  const cookie = set.split(";")[0]!;
  const page = await (await app.request("/console/search", { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
  return { cookie, csrf, location: res.headers.get("location") ?? "" };
}

/** The text of rendered HTML with hono/jsx's escapes undone (for matching JSON shown in a page). */
export function unescapeHtml(html: string): string {
  return html
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}
