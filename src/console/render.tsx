import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiFailure } from "./api-client.js";
import type { ConsoleContext } from "./context.js";
import { Page } from "./layout.js";
import { takeFlash } from "./session.js";

/** Sends a page (a JSX tree) as an HTML document. */
export function html(
  c: Context,
  node: { toString(): string | Promise<string> },
  status: ContentfulStatusCode = 200,
): Response | Promise<Response> {
  const body = node.toString();
  if (typeof body === "string") return c.html(`<!doctype html>${body}`, status);
  return body.then((b) => c.html(`<!doctype html>${b}`, status));
}

/** The one-shot flash of the session, for the page being rendered. */
export function flashOf(c: ConsoleContext) {
  return takeFlash(c.get("session"));
}

/** Sets a message for the next page and redirects there (post/redirect/get). */
export function redirectWith(
  c: ConsoleContext,
  to: string,
  kind: "ok" | "error",
  text: string,
): Response {
  c.get("session").flash = { kind, text };
  return c.redirect(to, 303);
}

/** A page telling why something could not be shown (no stack, the API's message). */
export function errorPage(c: Context, status: ContentfulStatusCode, message: string) {
  const session = (c as ConsoleContext).get("session");
  return html(
    c,
    <Page title="Problem" session={session}>
      <h1>Something went wrong</h1>
      <p class="flash error" role="alert">
        {message}
      </p>
      <p>
        <a href="/console">Back to the console</a>
      </p>
    </Page>,
    status,
  );
}

/** Status and message of an error thrown while building a page. */
export function describeError(e: unknown): { status: ContentfulStatusCode; message: string } {
  if (e instanceof ApiFailure) {
    const s = e.result.status;
    return { status: (s >= 400 && s < 600 ? s : 502) as ContentfulStatusCode, message: e.message };
  }
  return { status: 500, message: "Internal error; see the server log." };
}
