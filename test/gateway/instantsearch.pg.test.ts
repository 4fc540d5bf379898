import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureChromium, launchChromium } from "../console/browser.js";
import { useListeningServer } from "../http/fixture.js";
import { useSyncedJob } from "../http/synced-job.js";
import { ROOT } from "../support/cli.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { mintSearchKey, TENANT_DOCS, tenantOf } from "./support.js";

/*
 * typesense-instantsearch-adapter + instantsearch.js, unchanged, in headless Chromium,
 * on THE example page of docs/gateway.md (docs/gateway-example.html): a searchbox, hits, a
 * refinement list on a facet field and pagination, through the gateway with a scoped key
 * of tenant 1. The page is served by a static server of its own on another port, so every
 * call is a real cross-origin request answered under gateway.cors_origins (a loopback page:
 * Chromium refuses a public origin's requests to loopback, Private Network Access).
 */
const skipReason = ensureChromium();
if (skipReason && process.env.CI) {
  throw new Error(`the InstantSearch browser test cannot run on CI: ${skipReason}`);
}
if (skipReason) console.warn(`\n!!! SKIPPING the InstantSearch browser test: ${skipReason}\n`);

/** The page's origin, known once its server listens (before the app's config is built). */
const corsOrigins: string[] = [];
const page = { html: "", origin: "", server: undefined as Server | undefined };
beforeAll(async () => {
  const srv = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page.html);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  page.server = srv;
  page.origin = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  corsOrigins.push(page.origin);
});
afterAll(async () => {
  await new Promise((r) => page.server?.close(r));
});
const db = useTestDatabase();
const ts = useTypesense();
// the app's beforeAll reads this array after the page server above put its origin in
const job = useSyncedJob(db, ts, silentLogger, {
  source: TENANT_DOCS,
  app: { gateway: { cors_origins: corsOrigins } },
});
const server = useListeningServer(job.t, silentLogger);

/** The CDN scripts of the example, served from node_modules (this machine has no network). */
const SCRIPTS: Record<string, string> = {
  "typesense-instantsearch-adapter": join(
    ROOT,
    "node_modules/typesense-instantsearch-adapter/dist/typesense-instantsearch-adapter.min.js",
  ),
  "instantsearch.js": join(
    ROOT,
    "node_modules/instantsearch.js/dist/instantsearch.production.min.js",
  ),
};

let browser: Browser;
let scopedKey = "";
beforeAll(async () => {
  if (skipReason) return;
  // the sync makes no facet fields (that is the document spec's part): make category one
  await ts.client.collections(job.collection).update({
    fields: [
      { name: "category", drop: true },
      { name: "category", type: "string", facet: true },
    ],
  } as never);
  const parent = await mintSearchKey(job, { job_ids: [job.jobId], filter_by: "tenant_id:=1" });
  // what an app's backend does: mint a browser key from the sidecar search key
  scopedKey = ts.client.keys().generateScopedSearchKey(parent.token, { exclude_fields: "secret" });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function openExample(): Promise<{ page: Page; errors: string[] }> {
  const u = new URL(server.base);
  const config = {
    host: u.hostname,
    port: Number(u.port),
    protocol: "http",
    searchKey: scopedKey,
    collection: job.collection,
    queryBy: "title,body",
    facet: "category",
  };
  page.html = readFileSync(join(ROOT, "docs/gateway-example.html"), "utf8").replace(
    /(<script id="gateway-config" type="application\/json">)[\s\S]*?(<\/script>)/,
    `$1${JSON.stringify(config)}$2`,
  );
  const tab = await browser.newPage();
  const errors: string[] = [];
  tab.on("pageerror", (e) => errors.push(e.message));
  await tab.route("https://cdn.jsdelivr.net/**", async (route) => {
    const url = route.request().url();
    const hit = Object.entries(SCRIPTS).find(([name]) => url.includes(`/npm/${name}@`));
    if (hit) {
      await route.fulfill({ body: readFileSync(hit[1]), contentType: "text/javascript" });
    } else await route.fulfill({ body: "", contentType: "text/css" });
  });
  await tab.goto(`${page.origin}/search.html`);
  return { page: tab, errors };
}

const eventually = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 20_000 });
const hitIds = (page: Page) =>
  page.locator(".hit").evaluateAll((xs) => xs.map((x) => x.getAttribute("data-id") ?? ""));
const hitFacets = (page: Page) => page.locator(".hit-facet").allTextContents();

describe.skipIf(skipReason !== undefined)("InstantSearch through the gateway", () => {
  it("searchbox, hits, refinement list and pagination work, for one tenant only", async () => {
    const { page, errors } = await openExample();
    // first page: 5 hits of tenant 1's 30
    await eventually(async () => (await hitIds(page)).length).toBe(5);
    expect((await hitIds(page)).every((id) => tenantOf(id) === 1)).toBe(true);
    await eventually(() => page.locator("#stats").textContent()).toContain("30 results");
    expect(await page.content()).not.toMatch(/T2x|S2x/);

    // typing a query updates the hits
    await page.locator(".ais-SearchBox-input").fill("red");
    await eventually(() => page.locator("#stats").textContent()).toContain("10 results");
    const titles = await page.locator(".hit-title").allTextContents();
    expect(titles.length).toBe(5);
    for (const t of titles) expect(t).toMatch(/^red widget T1x\d+$/);

    // the refinement list on the facet field narrows the hits
    await page.locator(".ais-SearchBox-input").fill("");
    await eventually(() => page.locator(".ais-RefinementList-item").count()).toBe(2);
    const facetLabels = await page.locator(".ais-RefinementList-labelText").allTextContents();
    expect(facetLabels.sort()).toEqual(["garden", "tools"]); // tenant 1's categories only
    await page.locator(".ais-RefinementList-checkbox[value=tools]").check();
    await eventually(() => page.locator("#stats").textContent()).toContain("15 results");
    expect(new Set(await hitFacets(page))).toEqual(new Set(["tools"]));

    // pagination: page 2 shows other hits of the same refinement
    const first = await hitIds(page);
    await page.locator(".ais-Pagination-link", { hasText: /^2$/ }).click();
    await eventually(async () => (await hitIds(page)).join()).not.toBe(first.join());
    const second = await hitIds(page);
    expect(second).toHaveLength(5);
    expect(second.some((id) => first.includes(id))).toBe(false);
    expect(new Set(await hitFacets(page))).toEqual(new Set(["tools"]));
    expect(second.every((id) => tenantOf(id) === 1)).toBe(true);
    expect(await page.content()).not.toMatch(/T2x|S2x/);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
