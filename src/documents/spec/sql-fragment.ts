/**
 * Operator-written SQL (a field's `sql`, a `filter`, a child's `order_by`) is
 * pasted into the ONE rendering statement, which full sync also runs as
 * `COPY (...) TO STDOUT` over the simple query protocol (no bind parameters).
 * A fragment must therefore stay inside the parentheses it is put in: this
 * scan refuses `;`, comments and unbalanced parentheses outside quoted text
 * (string literals '...' and E'...', quoted identifiers "...", dollar quotes
 * $tag$...$tag$). Postgres then parses the fragment where it stands (describe,
 * extended protocol: one statement), which finds everything else.
 *
 * Returns the problem, or null when the fragment is self-contained.
 */
export function sqlFragmentProblem(text: string): string | null {
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    const next = text[i + 1];
    if (ch === "'" || ch === '"') {
      const escapes =
        ch === "'" && i > 0 && /[eE]/.test(text[i - 1]!) && !/\w/.test(text[i - 2] ?? " ");
      const end = closeQuote(text, i + 1, ch, escapes);
      if (end < 0) return `unterminated ${ch === "'" ? "string literal" : "quoted identifier"}`;
      i = end + 1;
      continue;
    }
    if (ch === "$") {
      const tag = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(text.slice(i));
      if (tag && !/[\w$]/.test(text[i - 1] ?? " ")) {
        const end = text.indexOf(tag[0], i + tag[0].length);
        if (end < 0) return "unterminated dollar-quoted string";
        i = end + tag[0].length;
        continue;
      }
    }
    if (ch === ";") return "';' is not allowed (one expression, not statements)";
    if ((ch === "-" && next === "-") || (ch === "/" && next === "*")) {
      return "comments are not allowed in a fragment";
    }
    if (ch === "(") depth++;
    if (ch === ")" && --depth < 0) return "unbalanced ')'";
    i++;
  }
  return depth === 0 ? null : "unbalanced '('";
}

/** Index of the closing quote (a doubled quote is an escaped one), or -1. */
function closeQuote(text: string, from: number, q: string, backslashEscapes: boolean): number {
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (backslashEscapes && ch === "\\") {
      i++;
      continue;
    }
    if (ch === q) {
      if (text[i + 1] === q) {
        i++;
        continue;
      }
      return i;
    }
  }
  return -1;
}
