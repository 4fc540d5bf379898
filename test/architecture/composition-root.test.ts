import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/*
 * One composition root (issue 14 item 3): the collaborators the process
 * shares are constructed in src/cli/ (and src/main.ts) only, and passed to
 * whoever uses them. Before, http/app.ts, console/facets.ts and
 * console/index.ts each built their own SecretBox and Typesense client cache
 * (and the API's cache was never closed).
 *
 * Read with a regex like the import-graph test: a call is the factory's name
 * followed by "(" not preceded by "function " (its definition). Comments are
 * stripped first, so a doc comment may name a factory freely.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/** Factories of shared collaborators: one instance per process, built by the composition root. */
const SHARED = [
  "createSecretBox", // SecretBox: seals/opens saved backends' keys
  "createTypesenseClients", // the Typesense client cache
  "createLiveBackend", // a saved backend followed by CDC and full sync
  "createBackendResolver", // box + clients + live backends
  "createSearchBindingCache", // the search route's job bindings
  "createAuthLogWriter", // the buffered auth attempt log
  "createMetrics", // the Prometheus registry
  "createConsole", // the operator console (sessions, lag sampler, facet lookup)
  "createGateway", // the search gateway at /typesense-api
  "createGatewayKeys", // its verified search-key cache
  "createAppDeps", // everything createApp receives
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

const withoutComments = (text: string) =>
  text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");

/** "file: name" for every call of a shared factory outside the composition root. */
function constructionsBelowCli(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const rel = relative(SRC, file);
    if (rel.startsWith("cli/") || rel === "main.ts") continue;
    const text = withoutComments(readFileSync(file, "utf8"));
    for (const name of SHARED) {
      const call = new RegExp(`(?<!function\\s+)\\b${name}\\s*\\(`, "g");
      const newBox = /\bnew\s+SecretBox\b/;
      if (call.test(text)) found.push(`${rel}: ${name}(`);
      if (name === "createSecretBox" && newBox.test(text)) found.push(`${rel}: new SecretBox`);
    }
  }
  return found.sort();
}

describe("composition root", () => {
  it("shared collaborators are constructed only in src/cli/ and src/main.ts", () => {
    expect(constructionsBelowCli()).toEqual([]);
  });

  it("the check sees a construction (it is not vacuous)", () => {
    // each factory is defined below cli/ and called in cli/: the regex finds the calls there
    const cli = sourceFiles(join(SRC, "cli"))
      .map((f) => withoutComments(readFileSync(f, "utf8")))
      .join("\n");
    for (const name of ["createBackendResolver", "createAppDeps", "createMetrics"]) {
      expect(cli, name).toMatch(new RegExp(`(?<!function\\s+)\\b${name}\\s*\\(`));
    }
  });
});
