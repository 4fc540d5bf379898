// `npm run bench [name ...] [-- args]`: runs the benchmark scripts in bench/,
// each in its own process (they start their own Postgres / emulator and print
// ratios against a baseline measured in the same run), one after the other.
//
// With no args, every bench runs in its QUICK mode (small data, short phases: a
// smoke check that each still works and roughly where it stands, minutes in all),
// and one table of their headline ratios is printed at the end. `--full` runs
// them at their default (documented) sizes instead, which takes a long while
// (full-sync and cdc use 1M rows); other args (`npm run bench cdc -- --rate 5000`)
// replace the quick args.
// Each bench prints the load average before it starts and warns when the
// machine was busy (bench/load.ts): a busy run's figures are not comparable.
import { spawn } from "node:child_process";
import { join } from "node:path";

interface Bench {
  /** Args of the quick mode. */
  quick: string[];
  /** Output lines that carry its headline figures (ratios to its baseline or target). */
  headline: RegExp;
  /** What the cells of a headline TABLE row are (markdown rows carry no header). */
  columns?: string;
}

const RATIO = /\d+\.\d+x\b/;
const BENCHES: Record<string, Bench> = {
  emulator: { quick: ["--quick"], headline: RATIO },
  "http-search": {
    quick: ["300"],
    headline: /^\| sidecar/,
    columns: "p50 ms, p95 ms, p50 added vs direct ms",
  },
  gateway: {
    quick: ["300"],
    headline: /^\| gateway/,
    columns: "p50 ms, p95 ms, p50 added vs direct ms",
  },
  "full-sync": {
    quick: ["20000", "--quick"],
    headline: RATIO,
    columns: "rows, rows/s, ratio, peak RSS MB",
  },
  cdc: { quick: ["--quick"], headline: /\d+\.\d+x\b|lag per change|knee:/ },
  "spec-full-sync": { quick: ["20000"], headline: RATIO },
  rebuild: { quick: ["5000"], headline: RATIO },
  "spec-cdc": {
    quick: ["20000", "--seconds", "3", "--fanout", "2000"],
    headline: /p99|\d+\.\d+x\b/,
  },
  "many-jobs": {
    quick: ["--quick"],
    headline: /^\| (idle CPU|RSS|GET |console|due job)/,
    columns: "figure, value, target, met or SHORT",
  },
};
const ALL = Object.keys(BENCHES);

// npm drops the first `--` (`npm run bench cdc -- --rate 5000` passes `cdc --rate 5000`):
// bench names are the known names, everything else (but --full) goes to the benches
const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
const full = argv.includes("--full");
const head = (sep >= 0 ? argv.slice(0, sep) : argv).filter((a) => a && a !== "--full");
const names = sep >= 0 ? head : head.filter((a) => a in BENCHES);
const rest = sep >= 0 ? argv.slice(sep + 1) : head.filter((a) => !(a in BENCHES));
const extra = rest.length > 0 ? rest : null;
const chosen = names.length > 0 ? names : ALL;
const unknown = chosen.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(", ")}; known: ${ALL.join(", ")}\n`);
  process.exit(2);
}

/** Runs one bench, its stdout passed through and kept. */
function run(name: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  process.stdout.write(`\n=== bench/${name}.ts ${args.join(" ")}\n`);
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, `${name}.ts`), ...args],
    { stdio: ["inherit", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString("utf8");
    process.stdout.write(b);
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ ok: code === 0, out })));
}

const rows: string[] = [];
let failed = 0;
for (const name of chosen) {
  const bench = BENCHES[name]!;
  const args = extra ?? (full ? [] : bench.quick);
  const r = await run(name, args);
  if (!r.ok) failed++;
  const lines = r.out.split("\n").filter((l) => bench.headline.test(l));
  if (!r.ok) rows.push(`| ${name} | FAILED |`);
  else if (lines.length === 0) rows.push(`| ${name} | (no headline line found) |`);
  for (const l of lines) {
    const row = l.trim().startsWith("|");
    const cells = l
      .trim()
      .replace(/^\|\s*|\s*\|$/g, "")
      .replaceAll(" | ", "; ");
    rows.push(`| ${name} | ${cells}${row && bench.columns ? ` (${bench.columns})` : ""} |`);
  }
}
process.stdout.write(
  `\n=== ${full || extra ? "" : "quick mode, "}headline figures (a quick run is a smoke check, not a measurement)\n\n| bench | figure |\n|---|---|\n${rows.join("\n")}\n`,
);
process.exit(failed > 0 ? 1 : 0);
