// Proves the production tree the Dockerfile builds: `npm ci --omit=dev` with
// only dist/, sql/ and config/ beside package.json, then --help, migrate, and
// a short serve (health + ready + SIGTERM -> exit 0). No Docker engine exists
// on our machines, so this runs the image's contents instead of the image.
// Usage: npx tsx .ci/prod-smoke.ts  (after npm run build)
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "../src/demo/embedded-postgres.js";

const root = join(import.meta.dirname, "..");
const work = mkdtempSync(join(tmpdir(), "ats-prod-"));
const step = (s: string) => process.stdout.write(`== prod-smoke: ${s}\n`);

function run(cmd: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { cwd: work, encoding: "utf8", env: { ...process.env, ...env } });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

// No maintained Dockerfile linter installs here (hadolint is in neither
// registry; dockerfilelint predates HEALTHCHECK --start-period), so check the
// properties we rely on: every COPY source from the build context exists,
// the runtime is non-root, has a HEALTHCHECK on /health, and runs the CLI.
step("Dockerfile checks");
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const runtime = dockerfile.slice(dockerfile.lastIndexOf("FROM "));
for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)) {
  const parts = m[1]!.trim().split(/\s+/);
  for (const src of parts.slice(0, -1)) {
    if (!existsSync(join(root, src))) throw new Error(`Dockerfile COPY source missing: ${src}`);
  }
}
for (const [what, re] of [
  ["non-root USER", /^USER (?!root\b)\S+/m],
  ["HEALTHCHECK on /health", /^HEALTHCHECK [\s\S]*\/health/m],
  ["ENTRYPOINT on dist/main.js", /^ENTRYPOINT \[.*dist\/main\.js"\]/m],
  ["CMD serve", /^CMD \["serve"/m],
  ["production-only install", /npm ci --omit=dev/],
] as const) {
  if (!re.test(runtime)) throw new Error(`Dockerfile runtime stage lacks ${what}`);
}

for (const f of ["package.json", "package-lock.json", "dist", "sql", "config"]) {
  cpSync(join(root, f), join(work, f), { recursive: true });
}
step(`npm ci --omit=dev in ${work}`);
run("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund"]);
const main = join(work, "dist", "main.js");
step("--help");
const help = run("node", [main, "--help"]);
if (!help.includes("serve")) throw new Error(`unexpected --help output:\n${help}`);

const server = await startEmbeddedPostgres();
try {
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  await admin.query("create database smoke_control");
  await admin.end();
  const env = {
    ATHENA_LOGGING_DATABASE_URL: server.urlFor("smoke_control"),
    APP_DATABASE_URL: server.urlFor("postgres"),
    ATHENA_KEY_12: "smoke-admin-key-0123456789",
    ATHENA_TS_HOST: "127.0.0.1",
    ATHENA_TS_PORT: "0",
  };
  step("migrate (twice)");
  run("node", [main, "migrate", "--config", "config/config.yaml"], env);
  const again = run("node", [main, "migrate", "--config", "config/config.yaml"], env);
  if (!again.includes("database is up to date")) throw new Error(`second migrate:\n${again}`);

  step("serve, /health, /ready, SIGTERM");
  const child = spawn("node", [main, "serve", "--config", "config/config.yaml"], {
    cwd: work,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += String(d);
  });
  child.stderr.on("data", (d) => {
    out += String(d);
  });
  const exited = new Promise<number | null>((r) => child.on("close", (c) => r(c)));
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!url && Date.now() < deadline) {
    url = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!url) throw new Error(`serve did not listen:\n${out}`);
  for (const path of ["/health", "/ready"]) {
    const res = await fetch(`${url}${path}`);
    if (res.status !== 200) throw new Error(`${path} -> ${res.status}: ${await res.text()}`);
  }
  child.kill("SIGTERM");
  const code = await exited;
  if (code !== 0) throw new Error(`serve exited ${code} after SIGTERM:\n${out}`);
  if (out.includes(env.ATHENA_KEY_12)) throw new Error("the admin key appeared in the logs");
  step("ok");
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
