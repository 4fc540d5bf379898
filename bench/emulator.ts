/**
 * Emulator benchmark (issue 4): import of ~1 KB documents in null-sink mode and with indexing,
 * and search latency over 100k indexed documents. Run: npx tsx bench/emulator.ts
 * Writes the "Emulator" section of docs/benchmarks.md (other sections are left alone).
 *
 * Client and server share this process (and the machine's cores), so the numbers include
 * the cost of producing and sending the requests.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { type EmulatorHandle, startEmulator } from "../src/emulator/index.js";

const API_KEY = "bench";
const BATCH = 5000;
const NULL_SINK_DOCS = 300_000;
const INDEXED_DOCS = 100_000;
const SEARCHES = 400;

/** Deterministic PRNG so every run indexes the same corpus. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = rng(42);
const SYLLABLES = [
  "ka",
  "lo",
  "mi",
  "ra",
  "te",
  "su",
  "no",
  "vi",
  "pe",
  "do",
  "an",
  "el",
  "or",
  "is",
  "un",
];
const VOCAB = Array.from({ length: 20_000 }, () => {
  const n = 2 + Math.floor(rand() * 3);
  let w = "";
  for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(rand() * SYLLABLES.length)];
  return w;
});
/** Zipf-like pick: low indexes are much more frequent. */
const word = () => VOCAB[Math.floor(VOCAB.length * rand() ** 3)]!;
const words = (n: number) => Array.from({ length: n }, word).join(" ");
const CATEGORIES = ["books", "music", "garden", "tools", "toys", "food", "sports", "travel"];

function makeDoc(i: number): Record<string, unknown> {
  return {
    id: `doc-${i}`,
    title: words(3 + Math.floor(rand() * 4)),
    description: words(110),
    category: CATEGORIES[i % CATEGORIES.length],
    tags: [word(), word(), word()],
    price: Math.round(rand() * 100_000) / 100,
    stock: Math.floor(rand() * 1000),
    rating: Math.round(rand() * 50) / 10,
    in_stock: rand() > 0.2,
    created_at: 1_700_000_000 + i,
  };
}

const SCHEMA = {
  fields: [
    { name: "title", type: "string" },
    { name: "description", type: "string" },
    { name: "category", type: "string", facet: true },
    { name: "tags", type: "string[]", facet: true },
    { name: "price", type: "float" },
    { name: "stock", type: "int32" },
    { name: "rating", type: "float" },
    { name: "in_stock", type: "bool", facet: true },
    { name: "created_at", type: "int64" },
  ],
  default_sorting_field: "created_at",
};

function bodies(total: number): { bodies: string[]; bytes: number } {
  const out: string[] = [];
  let bytes = 0;
  for (let start = 0; start < total; start += BATCH) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(total, start + BATCH); i++)
      lines.push(JSON.stringify(makeDoc(i)));
    const b = lines.join("\n");
    bytes += Buffer.byteLength(b);
    out.push(b);
  }
  return { bodies: out, bytes };
}

async function call(
  h: EmulatorHandle,
  method: string,
  path: string,
  body?: string,
): Promise<string> {
  const init: RequestInit = { method, headers: { "X-TYPESENSE-API-KEY": API_KEY } };
  if (body !== undefined) init.body = body;
  const res = await fetch(h.url + path, init);
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  return text;
}

async function importRun(nullSink: boolean, total: number) {
  const h = await startEmulator({ apiKey: API_KEY, nullSink });
  await call(h, "POST", "/collections", JSON.stringify({ name: "items", ...SCHEMA }));
  const { bodies: bs, bytes } = bodies(total);
  const t0 = performance.now();
  for (const b of bs) {
    const res = await call(h, "POST", "/collections/items/documents/import?action=upsert", b);
    if (res.includes('"success":false')) throw new Error(`import failed: ${res.slice(0, 300)}`);
  }
  const secs = (performance.now() - t0) / 1000;
  return { h, docsPerSec: total / secs, mbPerSec: bytes / 1e6 / secs, avgDocBytes: bytes / total };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function searchRun(h: EmulatorHandle) {
  const kinds: Record<string, () => string> = {
    "1 word, title+description": () => `q=${word()}&query_by=title,description`,
    "2 words, title+description": () => `q=${word()}+${word()}&query_by=title,description`,
    "prefix, title": () => `q=${word().slice(0, 3)}&query_by=title`,
    "word + filter + facets": () =>
      `q=${word()}&query_by=title,description&filter_by=in_stock:true%20%26%26%20price:<500&facet_by=category,in_stock`,
    "q=* sort_by price + filter": () => `q=*&filter_by=category:books&sort_by=price:asc`,
  };
  const out: Record<string, { p50: number; p95: number; found: number }> = {};
  for (const [name, gen] of Object.entries(kinds)) {
    for (let i = 0; i < 20; i++)
      await call(h, "GET", `/collections/items/documents/search?${gen()}`);
    const times: number[] = [];
    let found = 0;
    for (let i = 0; i < SEARCHES / 5; i++) {
      const t0 = performance.now();
      const r = await call(h, "GET", `/collections/items/documents/search?${gen()}`);
      times.push(performance.now() - t0);
      found += (JSON.parse(r) as { found: number }).found;
    }
    out[name] = {
      p50: pct(times, 50),
      p95: pct(times, 95),
      found: Math.round(found / (SEARCHES / 5)),
    };
  }
  return out;
}

function writeSection(section: string): string {
  const file = fileURLToPath(new URL("../docs/benchmarks.md", import.meta.url));
  const header = "## Emulator (bench/emulator.ts)";
  let doc = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const start = doc.indexOf(header);
  if (start >= 0) {
    const next = doc.indexOf("\n## ", start + header.length);
    doc = doc.slice(0, start) + section + (next >= 0 ? doc.slice(next + 1) : "");
  } else {
    doc = `${doc.trimEnd()}\n\n${section}`;
  }
  writeFileSync(file, doc.endsWith("\n") ? doc : `${doc}\n`);
  return file;
}

const sink = await importRun(true, NULL_SINK_DOCS);
await sink.h.close();
console.log(
  `null-sink import: ${Math.round(sink.docsPerSec)} docs/s (${sink.mbPerSec.toFixed(1)} MB/s)`,
);
const indexed = await importRun(false, INDEXED_DOCS);
console.log(
  `indexed import:   ${Math.round(indexed.docsPerSec)} docs/s (${indexed.mbPerSec.toFixed(1)} MB/s)`,
);
const heapMb = process.memoryUsage().heapUsed / 1e6;
const searches = await searchRun(indexed.h);
await indexed.h.close();
for (const [k, v] of Object.entries(searches)) {
  console.log(
    `search ${k}: p50 ${v.p50.toFixed(2)} ms, p95 ${v.p95.toFixed(2)} ms, avg found ${v.found}`,
  );
}

const cpu = cpus()[0]?.model ?? "unknown CPU";
const date = new Date().toISOString().slice(0, 10);
const row = (k: string, v: { p50: number; p95: number; found: number }) =>
  `| ${k} | ${v.p50.toFixed(2)} | ${v.p95.toFixed(2)} | ${v.found} |`;
const section = `## Emulator (bench/emulator.ts)

Run \`npx tsx bench/emulator.ts\`. ${date}, ${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 1e9)} GB RAM,
Node ${process.version}. Client (fetch) and emulator share one process; documents average
${Math.round(sink.avgDocBytes)} bytes (10 fields, a 110-word description), imported with
\`action=upsert\` in batches of ${BATCH}. Latencies are HTTP round trips seen by the client.

| Measure | Result | Target |
|---|---|---|
| Import, null-sink (${NULL_SINK_DOCS.toLocaleString("en")} docs) | ${Math.round(sink.docsPerSec).toLocaleString("en")} docs/s (${sink.mbPerSec.toFixed(1)} MB/s) | >= 100,000 docs/s |
| Import, indexed (${INDEXED_DOCS.toLocaleString("en")} docs) | ${Math.round(indexed.docsPerSec).toLocaleString("en")} docs/s (${indexed.mbPerSec.toFixed(1)} MB/s) | >= 20,000 docs/s |
| JS heap after indexing ${INDEXED_DOCS.toLocaleString("en")} docs | ${Math.round(heapMb)} MB | proportional to data |

Search over ${INDEXED_DOCS.toLocaleString("en")} indexed docs (${SEARCHES / 5} queries each, random words from a
Zipf-like 20k-word vocabulary; target p50 <= 5 ms):

| Query | p50 ms | p95 ms | avg found |
|---|---|---|---|
${Object.entries(searches)
  .map(([k, v]) => row(k, v))
  .join("\n")}
`;
console.log(`wrote ${writeSection(section)}`);
