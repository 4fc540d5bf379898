/** Display helpers. Values come from API JSON: numbers, ISO strings or null. */

export function num(v: unknown): string {
  if (v === null || v === undefined || v === "") return "–";
  const n = Number(v);
  return Number.isFinite(n) ? n.toLocaleString("en-US") : String(v);
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "never" for null. */
export function ago(iso: unknown, now = Date.now()): string {
  if (typeof iso !== "string" || iso === "") return "never";
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return String(iso);
  const s = Math.round((now - t) / 1000);
  if (s < 0) return `in ${span(-s)}`;
  return `${span(s)} ago`;
}

/** A whole-second span: "45 s", "3 min", "2 h 5 min", "4 d". */
export function span(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86_400) {
    const h = Math.floor(s / 3600);
    const m = Math.round((s % 3600) / 60);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  return `${Math.round(s / 86_400)} d`;
}

/** Milliseconds of lag: "120 ms", "4.2 s", "3 min". */
export function lag(ms: unknown): string {
  if (ms === null || ms === undefined) return "–";
  const n = Number(ms);
  if (!Number.isFinite(n)) return "–";
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(1)} s`;
  return span(n / 1000);
}

export function bytes(v: unknown): string {
  if (v === null || v === undefined) return "–";
  let n = Number(v);
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** Absolute UTC time for a title attribute. */
export function when(iso: unknown): string {
  return typeof iso === "string" ? iso.replace("T", " ").replace(/\.\d+Z$/, " UTC") : "";
}
