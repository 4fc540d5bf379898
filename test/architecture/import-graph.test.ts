import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/*
 * The import graph of src/: no file imports itself through others (no circle),
 * and modules (the first folder under src/) import only downwards.
 *
 * Imports are read with a regex rather than a parser: typescript 7 ships its
 * compiler as a native binary and exposes no in-process parser. Biome formats
 * every file, so each static import or re-export starts a line with `import` or
 * `export` and names its specifier after `from` (multi-line braces included);
 * side-effect imports and dynamic `import("…")` calls are read too. Type-only
 * imports count: a circle of types still ties two files together. A relative
 * specifier that resolves to no file fails the test, so a spelling the regex
 * misreads cannot silently drop an arrow.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

const IMPORT =
  /^(?:import|export)\s[^;]*?\sfrom\s*"([^"]+)"|^import\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** file (relative to src/) -> the src files it imports. */
function importGraph(): Map<string, string[]> {
  const files = sourceFiles(SRC);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps = new Set<string>();
    for (const m of readFileSync(file, "utf8").matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      if (!spec.startsWith(".")) continue;
      const base = resolve(dirname(file), spec).replace(/\.js$/, "");
      const target = [`${base}.ts`, `${base}.tsx`, join(base, "index.ts")].find((f) =>
        known.has(f),
      );
      if (!target) throw new Error(`${relative(SRC, file)}: cannot resolve import "${spec}"`);
      deps.add(relative(SRC, target));
    }
    graph.set(relative(SRC, file), [...deps].sort());
  }
  return graph;
}

const moduleOf = (file: string) => (file.includes("/") ? file.split("/")[0]! : file);

/** The module graph: module -> the modules it imports. */
function moduleGraph(graph: Map<string, string[]>): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const [file, deps] of graph) {
    const from = moduleOf(file);
    const set = out.get(from) ?? new Set<string>();
    out.set(from, set);
    for (const dep of deps) if (moduleOf(dep) !== from) set.add(moduleOf(dep));
  }
  return new Map([...out].map(([m, s]) => [m, [...s].sort()]));
}

/** Strongly connected components with more than one member (Tarjan), each as one circle path. */
function circles(graph: Map<string, string[]>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found.map((scc) => circlePath(graph, new Set(scc)));
}

/** One concrete circle through the component, "a -> b -> a", for the failure message. */
function circlePath(graph: Map<string, string[]>, scc: Set<string>): string {
  const start = [...scc].sort()[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!scc.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x = v; x !== start; x = prev.get(x)!) path.splice(1, 0, x);
        return [...path, start].join(" -> ");
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...scc].join(", ");
}

/** "from -> to" for every import between two different modules, with the files behind it. */
function moduleArrows(graph: Map<string, string[]>): Map<string, string[]> {
  const arrows = new Map<string, string[]>();
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      const a = moduleOf(file);
      const b = moduleOf(dep);
      if (a === b) continue;
      const key = `${a} -> ${b}`;
      arrows.set(key, [...(arrows.get(key) ?? []), `${file} -> ${dep}`]);
    }
  }
  return arrows;
}

/**
 * Arrows that point up or sideways. Each entry: [from, to-modules, why].
 * `*` = every module but the listed shared leaves.
 */
const FORBIDDEN: [string, string[] | "*", string][] = [
  // The embedded Typesense server stands alone (DESIGN section 9): it may use
  // the shared JSON codec and lifecycle helpers, nothing of the product.
  ["emulator", "*", "the emulator does not depend on product modules"],
  ["typesense", ["catalog"], "the client below the catalog; JSON helpers live in json/"],
  ["console", ["http"], "http mounts the console; the console does not reach back up"],
  ["gateway", ["http", "console"], "http mounts the search gateway; it does not reach back up"],
  // Full sync and CDC meet only in coordination/ (the DBLog watermark protocol,
  // the interruptions, run requests) and read rows through documents/.
  ["fullsync", ["cdc"], "full sync and CDC talk through coordination/"],
  ["cdc", ["fullsync"], "full sync and CDC talk through coordination/"],
  ["coordination", ["fullsync", "cdc"], "the protocol sits below both of its sides"],
  [
    "documents",
    ["fullsync", "cdc", "coordination", "control"],
    "rows -> documents sits below its users",
  ],
  ["catalog", ["documents"], "table introspection sits below the mapper"],
  // The control-data repositories sit below every module that uses them: types
  // both sides need (the CDC Checkpoint, Rejection) live in db/ and are re-exported.
  // Below documents/ too: the manifest statements take the table and id column as
  // plain values, and SQL quoting is db/sql-text.ts (documents/ re-exports it).
  [
    "db",
    [
      "documents",
      "cdc",
      "fullsync",
      "coordination",
      "control",
      "http",
      "scheduler",
      "console",
      "cli",
    ],
    "the repositories sit below their users",
  ],
];

/** Modules everyone may import: they import nothing of the product themselves. */
const SHARED_LEAVES = new Set(["json", "lifecycle", "errors"]);

function forbiddenArrows(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [arrow, via] of moduleArrows(graph)) {
    const [from, to] = arrow.split(" -> ") as [string, string];
    for (const [f, targets, why] of FORBIDDEN) {
      if (f !== from) continue;
      const hit = targets === "*" ? !SHARED_LEAVES.has(to) : targets.includes(to);
      if (hit) out.push(`${arrow} (${why}): ${via.join(", ")}`);
    }
  }
  return out.sort();
}

describe("import graph of src/", () => {
  const graph = importGraph();

  it("reads the imports of every file (sanity: known arrows are seen)", () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get("main.ts")).toContain("cli/serve.ts");
    // a multi-line import and a type-only import
    expect(graph.get("cdc/supervisor.ts")).toContain("lifecycle/service.ts");
  });

  it("has no import circles between files", () => {
    expect(circles(graph)).toEqual([]);
  });

  it("has no circles between modules (every arrow points down)", () => {
    expect(circles(moduleGraph(graph))).toEqual([]);
  });

  it("has no forbidden arrows between modules", () => {
    expect(forbiddenArrows(graph)).toEqual([]);
  });

  it("shared leaf modules import no product module", () => {
    const bad = [...moduleArrows(graph).keys()].filter((a) => {
      const [from, to] = a.split(" -> ") as [string, string];
      return SHARED_LEAVES.has(from) && !SHARED_LEAVES.has(to);
    });
    expect(bad).toEqual([]);
  });
});
