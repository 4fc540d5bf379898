import type { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { parseGatewayToken } from "../control/api-keys.js";
import { type ApiClient, apiClientFor } from "./api-client.js";
import type { ConsoleDeps, ConsoleEnv } from "./context.js";
import { field } from "./context.js";
import { FieldError, invalid, Page } from "./layout.js";
import { COOKIE, type ConsoleRole } from "./session.js";

/**
 * What the key may do, asked of the API itself (no second copy of the rights
 * table): the backends list needs the proxy right; a search-only key gets 403
 * there but passes auth on POST /typesense/search (400 for the empty body).
 */
async function probeRole(api: ApiClient): Promise<{ role: ConsoleRole } | { error: string }> {
  const ops = await api.call("GET", "/typesense/backends");
  if (ops.ok) return { role: "operator" };
  if (ops.status !== 403) return { error: ops.message || `sign-in failed (${ops.status})` };
  const s = await api.call("POST", "/typesense/search", "{}");
  if (s.status === 400) return { role: "search" };
  return {
    error:
      s.status === 403
        ? "This key has neither the gateway.typesense_proxy nor the gateway.typesense_search right."
        : s.message,
  };
}

/** Only console paths on this origin are followed after sign-in. */
function safeNext(next: string | undefined, role: ConsoleRole): string {
  const fallback = role === "search" ? "/console/search" : "/console/status";
  if (!next || !/^\/console(\/[\w\-./?=&%]*)?$/.test(next) || next.includes("//")) return fallback;
  if (next.startsWith("/console/login")) return fallback;
  return role === "search" && !next.startsWith("/console/search") ? fallback : next;
}

function isHttps(url: string, proto: string | undefined): boolean {
  return new URL(url).protocol === "https:" || proto === "https";
}

function LoginPage(p: { next: string; client: string; errors: Record<string, string> }) {
  return (
    <Page title="Sign in">
      <div class="card login">
        <h1>Sign in</h1>
        <p class="hint">
          Use the admin key (ATHENA_KEY_12) or a gateway key (ath_…). Keys with only the
          gateway.typesense_search right see Live search.
        </p>
        <form method="post" action="/console/login">
          <input type="hidden" name="next" value={p.next} />
          <label for="key">API key</label>
          <input
            id="key"
            name="key"
            type="password"
            autocomplete="current-password"
            required
            {...invalid("key", p.errors)}
          />
          <FieldError name="key" errors={p.errors} />
          <label for="client">Athena client (only for client-bound gateway keys)</label>
          <input id="client" name="client" type="text" value={p.client} autocomplete="off" />
          <div class="actions">
            <button type="submit">Sign in</button>
          </div>
        </form>
      </div>
    </Page>
  );
}

/** GET/POST /console/login and POST /console/logout. */
export function loginRoutes(r: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  r.get("/login", (c) =>
    c.html(
      `<!doctype html>${<LoginPage next={c.req.query("next") ?? ""} client="" errors={{}} />}`,
    ),
  );

  r.post("/login", async (c) => {
    const form = await c.req.parseBody();
    const key = field(form, "key");
    const client = field(form, "client");
    const next = field(form, "next");
    const fail = (message: string, status: 400 | 401 | 403 | 503) =>
      c.html(
        `<!doctype html>${<LoginPage next={next} client={client} errors={{ key: message }} />}`,
        status,
      );
    if (!key) return fail("Enter a key.", 400);
    if (key.length > 500) return fail("That key is too long.", 400);
    const api = apiClientFor(deps.api, { key, client }, c.env.requestId);
    const probe = await probeRole(api);
    if ("error" in probe) return fail(probe.error, 401);
    const token = parseGatewayToken(key);
    const label = token ? `gateway key ${token.publicId}` : "admin key";
    const cookie = deps.sessions.create({ key, client, role: probe.role, label });
    setCookie(c, COOKIE, cookie, {
      path: "/console",
      httpOnly: true,
      sameSite: "Strict",
      secure: isHttps(c.req.url, c.req.header("x-forwarded-proto")),
    });
    c.env.log.info({ component: "console", who: label, role: probe.role }, "console sign-in");
    return c.redirect(safeNext(next, probe.role), 303);
  });

  r.post("/logout", (c) => {
    deps.sessions.destroy(getCookie(c, COOKIE));
    deleteCookie(c, COOKIE, { path: "/console" });
    return c.redirect("/console/login", 303);
  });
}
