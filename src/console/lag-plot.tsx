import { lag, span } from "./format.js";
import type { LagSample } from "./lag-sampler.js";

const W = 640;
const PANEL_H = 90;
const LEFT = 64;
const RIGHT = 12;
const TOP = 18;
const GAP = 34;
const HOUR = 60 * 60 * 1000;

interface Panel {
  title: string;
  values: { t: number; v: number | null }[];
  format: (v: number) => string;
  color: string;
  y0: number;
}

/** Polyline segments of one series; a null value breaks the line. */
function segments(p: Panel, from: number, now: number): string[] {
  const max = Math.max(1e-9, ...p.values.map((x) => x.v ?? 0));
  const width = Math.max(1, now - from);
  const x = (t: number) => LEFT + ((t - from) / width) * (W - LEFT - RIGHT);
  const y = (v: number) => p.y0 + PANEL_H - (v / max) * PANEL_H;
  const out: string[] = [];
  let cur: string[] = [];
  for (const s of p.values) {
    if (s.v === null) {
      if (cur.length) out.push(cur.join(" "));
      cur = [];
      continue;
    }
    cur.push(`${x(s.t).toFixed(1)},${y(s.v).toFixed(1)}`);
  }
  if (cur.length) out.push(cur.join(" "));
  return out;
}

function PanelView({ p, from, now }: { p: Panel; from: number; now: number }) {
  const max = Math.max(0, ...p.values.map((x) => x.v ?? 0));
  const last = [...p.values].reverse().find((x) => x.v !== null)?.v ?? null;
  const segs = segments(p, from, now);
  return (
    <g>
      <text x={LEFT} y={p.y0 - 5} font-size="12" fill="#1d2330" font-weight="600">
        {`${p.title} · latest ${last === null ? "–" : p.format(last)}`}
      </text>
      <rect
        x={LEFT}
        y={p.y0}
        width={W - LEFT - RIGHT}
        height={PANEL_H}
        fill="#f8f9fc"
        stroke="#d9dee7"
      />
      <text x={LEFT - 6} y={p.y0 + 10} font-size="11" text-anchor="end" fill="#5b6475">
        {p.format(max)}
      </text>
      <text x={LEFT - 6} y={p.y0 + PANEL_H} font-size="11" text-anchor="end" fill="#5b6475">
        0
      </text>
      {segs.map((pts) =>
        pts.includes(" ") ? (
          <polyline points={pts} fill="none" stroke={p.color} stroke-width="2" />
        ) : (
          <circle cx={pts.split(",")[0]} cy={pts.split(",")[1]} r="2.5" fill={p.color} />
        ),
      )}
    </g>
  );
}

const perSecond = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)}/s`;

/**
 * Server-rendered SVG of one stream's last hour: commit -> Typesense lag and
 * applied changes per second, from the console's sample ring. The time axis
 * spans the last hour, or less while fewer samples exist (a fresh process).
 */
export function LagPlot({
  client,
  samples,
  now,
}: {
  client: string;
  samples: LagSample[];
  now: number;
}) {
  const panels: Panel[] = [
    {
      title: "Lag",
      values: samples.map((s) => ({ t: s.t, v: s.lagMs })),
      format: (v) => lag(v),
      color: "#b42318",
      y0: TOP,
    },
    {
      title: "Changes applied per second",
      values: samples.map((s) => ({ t: s.t, v: s.perSecond })),
      format: perSecond,
      color: "#2457c5",
      y0: TOP + PANEL_H + GAP,
    },
  ];
  const h = TOP + 2 * PANEL_H + GAP + 24;
  const id = `plot-${client.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const axisY = h - 8;
  const from = Math.max(now - HOUR, (samples[0]?.t ?? now - HOUR) - 1000);
  const total = span((now - from) / 1000);
  const half = span((now - from) / 2000);
  return (
    <svg viewBox={`0 0 ${W} ${h}`} role="img" aria-labelledby={`${id}-t ${id}-d`}>
      <title id={`${id}-t`}>{`CDC stream ${client}: lag and throughput, last hour`}</title>
      <desc id={`${id}-d`}>
        {`${samples.length} samples; latest lag ${lag(samples.at(-1)?.lagMs ?? null)}`}
      </desc>
      {panels.map((p) => (
        <PanelView p={p} from={from} now={now} />
      ))}
      <text x={LEFT} y={axisY} font-size="11" fill="#5b6475">
        {`−${total}`}
      </text>
      <text x={(LEFT + W - RIGHT) / 2} y={axisY} font-size="11" text-anchor="middle" fill="#5b6475">
        {`−${half}`}
      </text>
      <text x={W - RIGHT} y={axisY} font-size="11" text-anchor="end" fill="#5b6475">
        now
      </text>
    </svg>
  );
}
