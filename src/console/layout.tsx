import type { Child } from "hono/jsx";
import type { Flash, Session } from "./session.js";

export type NavKey =
  | "status"
  | "backends"
  | "jobs"
  | "dead-letters"
  | "auth-log"
  | "search-keys"
  | "search";

const NAV: { key: NavKey; href: string; label: string; operator: boolean }[] = [
  { key: "status", href: "/console/status", label: "Status", operator: true },
  { key: "backends", href: "/console/backends", label: "Backends", operator: true },
  { key: "jobs", href: "/console/jobs", label: "Sync jobs", operator: true },
  { key: "dead-letters", href: "/console/dead-letters", label: "Dead letters", operator: true },
  { key: "auth-log", href: "/console/auth-log", label: "Auth log", operator: true },
  { key: "search-keys", href: "/console/search-keys", label: "Search keys", operator: true },
  { key: "search", href: "/console/search", label: "Live search", operator: false },
];

// htmx reads this: no inline <style> injection (our CSP allows none), no eval,
// requests to our own origin only.
const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  selfRequestsOnly: true,
  historyCacheSize: 0,
});

export interface PageProps {
  title: string;
  session?: Session | undefined;
  nav?: NavKey;
  flash?: Flash | undefined;
  /** Reload every n seconds when JavaScript is off (live progress without htmx). */
  refreshWithoutJs?: number;
  children?: Child;
}

/** The shell of every console page: skip link, header + nav by role, flash, main. */
export function Page(p: PageProps) {
  const s = p.session;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content={HTMX_CONFIG} />
        <title>{`${p.title} · athena-typesense-sync console`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/console/assets/console.css" />
        <script src="/console/assets/htmx.min.js" defer />
        {p.refreshWithoutJs ? (
          <noscript>
            <meta http-equiv="refresh" content={String(p.refreshWithoutJs)} />
          </noscript>
        ) : null}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/console">
            Athena · Typesense
          </a>
          {s ? (
            <nav class="main" aria-label="Console">
              {NAV.filter((n) => !n.operator || s.role === "operator").map((n) => (
                <a href={n.href} aria-current={p.nav === n.key ? "page" : undefined}>
                  {n.label}
                </a>
              ))}
            </nav>
          ) : null}
          {s ? (
            <div class="who">
              <span>
                {s.label}
                {s.role === "search" ? " (search only)" : ""}
              </span>
              <form method="post" action="/console/logout" class="inline">
                <input type="hidden" name="_csrf" value={s.csrf} />
                <button type="submit">Sign out</button>
              </form>
            </div>
          ) : null}
        </header>
        <main id="main">
          {p.flash ? (
            <p class={`flash ${p.flash.kind}`} role={p.flash.kind === "error" ? "alert" : "status"}>
              {p.flash.text}
            </p>
          ) : null}
          {p.children}
        </main>
      </body>
    </html>
  );
}

/** The submit row of a GET filter form above a list. */
export function FilterSubmit() {
  return (
    <div class="actions">
      <button type="submit" class="secondary">
        Filter
      </button>
    </div>
  );
}

/** The hidden CSRF field every POST form carries. */
export function Csrf({ session }: { session: Session }) {
  return <input type="hidden" name="_csrf" value={session.csrf} />;
}

/** A status word as a colored badge (class b-<status>, text stays readable without color). */
export function Badge({ value }: { value: string | null | undefined }) {
  const v = value ?? "unknown";
  return <span class={`badge b-${v.replace(/[^a-z_]/g, "")}`}>{v.replaceAll("_", " ")}</span>;
}

/** A message under a form control, tied to it with aria-describedby (id `${name}-error`). */
export function FieldError({ name, errors }: { name: string; errors: Record<string, string> }) {
  const e = errors[name];
  return e ? (
    <p class="field-error" id={`${name}-error`}>
      {e}
    </p>
  ) : null;
}

/** aria attributes of an input that may carry an error. */
export function invalid(name: string, errors: Record<string, string>) {
  return errors[name]
    ? { "aria-invalid": "true" as const, "aria-describedby": `${name}-error` }
    : {};
}
