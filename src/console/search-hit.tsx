/** One Typesense hit as the search route returns it. */
export interface SearchHit {
  document: Record<string, unknown>;
  highlights?: { field: string; snippet?: string; snippets?: string[] }[];
}

/**
 * Highlight tags we ask Typesense for (private-use characters, so they
 * cannot collide with document text). `<mark>` is accepted as well: it is
 * Typesense's default and what a backend that ignores the tag options sends.
 */
const TAGS = /(\uE000|\uE001|<mark>|<\/mark>)/;

/**
 * A snippet with highlight tags turned into <mark> elements. The snippet is
 * split on the tags and every piece goes through JSX escaping, so document
 * content can never inject markup.
 */
export function Marked({ text }: { text: string }) {
  let on = false;
  const parts: { t: string; m: boolean }[] = [];
  for (const piece of text.split(TAGS)) {
    if (piece === "\uE000" || piece === "<mark>") on = true;
    else if (piece === "\uE001" || piece === "</mark>") on = false;
    else if (piece !== "") parts.push({ t: piece, m: on });
  }
  return <>{parts.map((p) => (p.m ? <mark>{p.t}</mark> : p.t))}</>;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = typeof v === "object" ? JSON.stringify(v) : String(v);
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}

/** Title from the first queryable field, highlighted snippets, then a few other fields. */
export function Hit({ hit, queryable }: { hit: SearchHit; queryable: string[] }) {
  const doc = hit.document;
  const hl = new Map<string, string>();
  for (const h of hit.highlights ?? []) {
    const snip = h.snippet ?? h.snippets?.join(" · ");
    if (snip) hl.set(h.field, snip);
  }
  const titleField = queryable.find((f) => doc[f] !== undefined) ?? "id";
  const title = hl.get(titleField) ?? show(doc[titleField]);
  const others = Object.keys(doc).filter((k) => k !== titleField && !hl.has(k) && k !== "id");
  return (
    <li data-doc={String(doc.id)}>
      <h3>
        <Marked text={title} /> <span class="muted mono">#{String(doc.id)}</span>
      </h3>
      {[...hl]
        .filter(([f]) => f !== titleField)
        .map(([f, s]) => (
          <p>
            <span class="muted">{f}: </span>
            <Marked text={s} />
          </p>
        ))}
      <p class="hint mono">
        {others
          .slice(0, 6)
          .map((k) => `${k}: ${show(doc[k])}`)
          .join(" · ")}
      </p>
    </li>
  );
}
