/** A self-contained API reference page (no CDN, works offline), rendered from the OpenAPI document. */

type Json = Record<string, unknown>;

interface Operation {
  method: string;
  path: string;
  summary: string;
  tags: string[];
  parameters: { name: string; in: string; required?: boolean }[];
  body: unknown;
  responses: string[];
  isPublic: boolean;
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

function operations(doc: Json): Operation[] {
  const out: Operation[] = [];
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      const body = (op.requestBody as Json | undefined)?.content as
        | Record<string, { schema?: unknown }>
        | undefined;
      out.push({
        method: m.toUpperCase(),
        path,
        summary: String(op.summary ?? ""),
        tags: (op.tags as string[] | undefined) ?? ["other"],
        parameters: (op.parameters as Operation["parameters"] | undefined) ?? [],
        body: body?.["application/json"]?.schema,
        responses: Object.keys((op.responses as Json | undefined) ?? {}),
        isPublic: Array.isArray(op.security) && op.security.length === 0,
      });
    }
  }
  return out;
}

const css = `body{font:14px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ddd;margin-top:2rem}.op{border:1px solid #e3e3e3;border-radius:6px;margin:.6rem 0;padding:.5rem .8rem}
.m{font:bold 12px monospace;padding:2px 6px;border-radius:4px;color:#fff;margin-right:.5rem}
.GET{background:#2b7bb9}.POST{background:#2e8b57}.PATCH{background:#b8860b}.DELETE{background:#b22222}.PUT{background:#6a5acd}
code,pre{font-family:ui-monospace,monospace}pre{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:12px}
.pub{color:#2e8b57;font-size:12px;margin-left:.5rem}`;

export function renderDocsPage(doc: Json): string {
  const ops = operations(doc);
  const tags = [...new Set(ops.flatMap((o) => o.tags))];
  const info = (doc.info ?? {}) as { title?: string; description?: string };
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, unknown>;
  const page = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{`${info.title ?? "API"} reference`}</title>
        <style>{css}</style>
      </head>
      <body>
        <h1>{info.title} API reference</h1>
        <p>{info.description}</p>
        <p>
          Machine-readable: <a href="/openapi.json">/openapi.json</a>,{" "}
          <a href="/openapi.yaml">/openapi.yaml</a>
        </p>
        {tags.map((tag) => (
          <section>
            <h2>{tag}</h2>
            {ops
              .filter((o) => o.tags.includes(tag))
              .map((o) => (
                <details class="op">
                  <summary>
                    <span class={`m ${o.method}`}>{o.method}</span>
                    <code>{o.path}</code> {o.summary}
                    {o.isPublic ? <span class="pub">no auth</span> : null}
                  </summary>
                  {o.parameters.length > 0 ? (
                    <p>
                      Parameters:{" "}
                      {o.parameters
                        .map((p) => `${p.name} (${p.in}${p.required ? ", required" : ""})`)
                        .join("; ")}
                    </p>
                  ) : null}
                  {o.body ? <pre>{JSON.stringify(o.body, null, 2)}</pre> : null}
                  <p>Responses: {o.responses.join(", ")}</p>
                </details>
              ))}
          </section>
        ))}
        <h2>Schemas</h2>
        {Object.entries(schemas).map(([name, s]) => (
          <details class="op">
            <summary>
              <code>{name}</code>
            </summary>
            <pre>{JSON.stringify(s, null, 2)}</pre>
          </details>
        ))}
      </body>
    </html>
  );
  return `<!doctype html>${page.toString()}`;
}
