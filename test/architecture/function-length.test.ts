import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/*
 * No function in the checked folders is longer than MAX_FUNCTION_LINES lines
 * (issue 14 item 6: small functions; the session and the run are objects with
 * named steps, not one long closure).
 *
 * Like import-graph.test.ts this reads the text rather than an AST (typescript 7
 * exposes no in-process parser). Comments, strings, template literals and regex
 * literals are blanked first; then every `{` whose head (the text back to the
 * previous `;`, `{`, `}` or `,` outside parentheses) is a function head opens a
 * function: `function`, an arrow `=>`, or a method/accessor/constructor
 * `name(...)` whose first word is not a control keyword. Its length runs from
 * the head's first line to the matching `}`. Unbalanced braces fail the test,
 * so a text the scanner misreads cannot silently pass.
 */

/** Folders under src/ whose functions are checked (helper K adds "fullsync"). */
const CHECKED_FOLDERS = ["cdc", "fullsync"];
const MAX_FUNCTION_LINES = 80;
/**
 * Longer functions not shortened yet, by file and name. The list only
 * shrinks: a listed function that is short now, or gone, fails the test until
 * it is taken off.
 */
const NOT_YET_SHORT: string[] = [];

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** The code with comments, strings, templates and regexes replaced by spaces (newlines kept). */
function blank(code: string): string {
  const out = code.split("");
  const wipe = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  let lastSignificant = "";
  let i = 0;
  while (i < code.length) {
    const c = code[i] as string;
    const d = code[i + 1];
    let end = -1;
    if (c === "/" && d === "/") {
      end = code.indexOf("\n", i);
      if (end < 0) end = code.length;
    } else if (c === "/" && d === "*") {
      end = code.indexOf("*/", i + 2) + 2;
    } else if (c === '"' || c === "'") {
      end = i + 1;
      while (end < code.length && code[end] !== c) end += code[end] === "\\" ? 2 : 1;
      end++;
    } else if (c === "`") {
      end = templateEnd(code, i + 1);
    } else if (c === "/" && (lastSignificant === "" || "(,=:[!&|?{};".includes(lastSignificant))) {
      end = i + 1;
      let inClass = false;
      while (end < code.length && (inClass || code[end] !== "/")) {
        if (code[end] === "[") inClass = true;
        else if (code[end] === "]") inClass = false;
        end += code[end] === "\\" ? 2 : 1;
      }
      end++;
    }
    if (end > i) {
      wipe(i, end);
      // a string or regex is an operand, a comment is nothing
      if (!(c === "/" && (d === "/" || d === "*"))) lastSignificant = "a";
      i = end;
      continue;
    }
    if (!/\s/.test(c)) lastSignificant = c;
    i++;
  }
  return out.join("");
}

/** Index after the closing backtick of a template starting at `i` (inside it). */
function templateEnd(code: string, i: number): number {
  let k = i;
  while (k < code.length && code[k] !== "`") {
    if (code[k] === "\\") k += 2;
    else if (code[k] === "$" && code[k + 1] === "{") {
      let depth = 1;
      k += 2;
      while (k < code.length && depth > 0) {
        if (code[k] === "{") depth++;
        else if (code[k] === "}") depth--;
        else if (code[k] === "`") k = templateEnd(code, k + 1) - 1;
        k++;
      }
    } else k++;
  }
  return k + 1;
}

const CONTROL = new Set(
  "if for while switch catch with else return do try typeof await new throw in of case yield".split(
    " ",
  ),
);

/** Start index of the head of the `{` at `at`, and whether it opens a function. */
function head(text: string, at: number): { start: number; isFunction: boolean } {
  let depth = 0;
  let k = at - 1;
  for (; k >= 0; k--) {
    const c = text[k];
    if (c === ")" || c === "]") depth++;
    else if (c === "(" || c === "[") {
      if (depth === 0) break;
      depth--;
    } else if (depth === 0 && (c === ";" || c === "{" || c === "}" || c === ",")) break;
  }
  const raw = text.slice(k + 1, at);
  const h = raw.replace(/\s+/g, " ").trim();
  const start = k + 1 + (raw.length - raw.trimStart().length);
  const first = /^[\w$#]+/.exec(h)?.[0] ?? "";
  const isFunction =
    h.endsWith("=>") ||
    (/\bfunction\b/.test(h) && !h.endsWith(":")) ||
    (!CONTROL.has(first) && /^(?:[\w$]+ )*#?[\w$]+ ?(?:<.*>)? ?\(.*\) ?(?::.+)?$/.test(h));
  return { start, isFunction };
}

interface FunctionSpan {
  file: string;
  line: number;
  lines: number;
  head: string;
}

function functionSpans(file: string, code: string): FunctionSpan[] {
  const text = blank(code);
  const lineAt: number[] = [];
  let line = 1;
  for (let k = 0; k < text.length; k++) {
    lineAt.push(line);
    if (text[k] === "\n") line++;
  }
  const open: { start: number; isFunction: boolean }[] = [];
  const spans: FunctionSpan[] = [];
  for (let k = 0; k < text.length; k++) {
    if (text[k] === "{") open.push(head(text, k));
    else if (text[k] === "}") {
      const o = open.pop();
      if (!o) throw new Error(`${file}:${lineAt[k]}: unbalanced "}"`);
      if (!o.isFunction) continue;
      const first = lineAt[o.start] as number;
      spans.push({
        file,
        line: first,
        lines: (lineAt[k] as number) - first + 1,
        head: text.slice(o.start, text.indexOf("{", o.start)).replace(/\s+/g, " ").trim(),
      });
    }
  }
  if (open.length > 0) throw new Error(`${file}: unbalanced "{"`);
  return spans;
}

function tooLong(code: string, file = "x.ts"): FunctionSpan[] {
  return functionSpans(file, code).filter((s) => s.lines > MAX_FUNCTION_LINES);
}

describe("function length", () => {
  it(`finds no function longer than ${MAX_FUNCTION_LINES} lines in src/{${CHECKED_FOLDERS.join(",")}}`, () => {
    const long: string[] = [];
    const listed = new Set<string>();
    let count = 0;
    for (const folder of CHECKED_FOLDERS) {
      for (const file of sourceFiles(join(SRC, folder))) {
        const spans = functionSpans(relative(SRC, file), readFileSync(file, "utf8"));
        count += spans.length;
        for (const s of spans) {
          if (s.lines <= MAX_FUNCTION_LINES) continue;
          const name = `${s.file} ${/([\w$#]+) ?(?:<.*>)? ?\(/.exec(s.head)?.[1] ?? s.head}`;
          if (NOT_YET_SHORT.includes(name)) listed.add(name);
          else long.push(`${s.file}:${s.line} ${s.lines} lines: ${s.head}`);
        }
      }
    }
    // the scanner sees the functions at all (a misreading would find none)
    expect(count).toBeGreaterThan(50 * CHECKED_FOLDERS.length);
    expect(long).toEqual([]);
    expect(NOT_YET_SHORT.filter((n) => !listed.has(n))).toEqual([]);
  });

  it("measures functions, methods and arrows from their head to their closing brace", () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  x(${i});`).join("\n");
    expect(tooLong(`function f() {\n${body(78)}\n}`)).toEqual([]);
    expect(tooLong(`function f() {\n${body(79)}\n}`)).toMatchObject([{ line: 1, lines: 81 }]);
    const method = `class A {\n  async m(\n    a: string,\n  ): Promise<void> {\n${body(77)}\n  }\n}`;
    expect(tooLong(method)).toMatchObject([{ line: 2, lines: 81 }]);
    const arrow = `const g = (a: number) => {\n  if (a) {\n${body(78)}\n  }\n};`;
    expect(tooLong(arrow)).toMatchObject([{ line: 1 }]);
  });

  it("is not misled by braces in strings, templates, comments or regexes, nor by blocks", () => {
    const code = [
      "function f() {",
      '  const s = "{"; // {',
      // (split: a "$" + "{" in a plain string reads as a misplaced template to Biome)
      "  const t = `$" + "{s}{`; /* { */",
      "  const r = /\\{/;",
      "  if (s) {",
      "    for (const c of s) {}",
      "  } else {}",
      "  return { a: 1 };",
      "}",
    ].join("\n");
    const spans = functionSpans("x.ts", code);
    expect(spans).toMatchObject([{ line: 1, lines: 9 }]);
  });
});
