/**
 * One URL path segment (or query value) made from an id or name, always
 * percent-encoded: a "/", "?", "#" or ".." inside a value stays inside its
 * segment, so a crafted id cannot point a console link, form or API call at
 * another route. Every id or name the console puts into a path goes through it.
 */
export function seg(v: unknown): string {
  return encodeURIComponent(String(v));
}
