// `npm run bench [name ...] [-- args]`: runs the benchmark scripts in bench/,
// each in its own process (they start their own Postgres / emulator and print
// ratios against a baseline measured in the same run). With no name, all run
// with their defaults, which takes a while (full-sync and cdc use 1M rows).
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const ALL = ["emulator", "http-search", "full-sync", "cdc"] as const;
const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
const names = (sep >= 0 ? argv.slice(0, sep) : argv).filter(Boolean);
const extra = sep >= 0 ? argv.slice(sep + 1) : [];
const chosen = names.length > 0 ? names : [...ALL];
const unknown = chosen.filter((n) => !(ALL as readonly string[]).includes(n));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(", ")}; known: ${ALL.join(", ")}\n`);
  process.exit(2);
}
let failed = 0;
for (const name of chosen) {
  process.stdout.write(`\n=== bench/${name}.ts ${extra.join(" ")}\n`);
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, `${name}.ts`), ...extra],
    { stdio: "inherit" },
  );
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
