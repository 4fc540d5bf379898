import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { ensureChromium, launchChromium } from "./browser.js";
import { ROWS, ROWS_WITHOUT_CATEGORY, useConsoleStack } from "./stack.js";

// Screenshots of every page are always taken; UPDATE_SCREENSHOTS=1 writes them to
// docs/screenshots (committed), otherwise to a temp folder so test runs leave the tree clean.
const SHOTS =
  process.env.UPDATE_SCREENSHOTS === "1"
    ? join(ROOT, "docs", "screenshots")
    : join(tmpdir(), "athena-console-screenshots");
const skipReason = ensureChromium();
// On CI the browser is installed by .ci/run: a missing browser there is a failure, not a skip.
if (skipReason && process.env.CI) {
  throw new Error(`the console browser test cannot run on CI: ${skipReason}`);
}
if (skipReason) {
  console.warn(`\n!!! SKIPPING the console browser test: ${skipReason}\n`);
}

const db = useTestDatabase();
const ts = useTypesense();
const stack = useConsoleStack(db, ts);

let browser: Browser;
beforeAll(async () => {
  if (skipReason) return;
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** expect.poll with a bound that fits a loaded CI machine (a bound, not a timing assertion). */
const eventually = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 20_000 });

/**
 * Waits, without reloading (the live region refreshes itself through htmx),
 * until the status page lists `runs` runs and the newest has succeeded.
 */
async function waitForRunEnd(page: Page, runs: number) {
  const newest = page.locator("tr[data-run]").first();
  await eventually(() => page.locator("tr[data-run]").count()).toBe(runs);
  await eventually(() => newest.locator(".badge").first().textContent()).toBe("succeeded");
  await eventually(() => page.locator("#live").getAttribute("data-active")).toBe("false");
}

describe.skipIf(skipReason !== undefined)("console in headless chromium", () => {
  it("walks the operator flow: sign in, backend, job, run, dead letters, search, a Postgres edit", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    // script errors and CSP violations (htmx must run under our strict CSP)
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
        errors.push(m.text());
      }
    });
    const { url, collection } = stack;

    // sign-in: a wrong key is refused next to the field, the admin key signs in
    await page.goto(`${url}/console`);
    await eventually(() => page.url()).toContain("/console/login");
    await page.getByLabel("API key").fill("not-a-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await eventually(() => page.locator("#key-error").textContent()).toContain("Invalid API key");
    await shot(page, "01-sign-in");
    await page.getByLabel("API key").fill(stack.adminKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/console\/status$/);
    expect(await page.content()).not.toContain(stack.adminKey);

    // backends: add, test with latency; the key is never shown
    await page.getByRole("link", { name: "Backends" }).click();
    await page.getByLabel("Name").fill("embedded");
    await page.getByLabel("Base URL").fill(ts.url);
    await page.getByLabel("API key").fill(ts.apiKey);
    await page.getByLabel("Timeout (ms)").fill("4000");
    await page.getByRole("button", { name: "Add backend" }).click();
    await eventually(() => page.locator(".flash.ok").textContent()).toContain("added");
    await page.getByRole("button", { name: "Test embedded" }).click();
    await eventually(() => page.locator(".flash.ok").textContent()).toMatch(
      /healthy: answered in [\d.]+ ms/,
    );
    expect(await page.content()).not.toContain(ts.apiKey);
    await shot(page, "02-backends");

    // sync job: columns come from the catalog once the table is picked (htmx reload)
    await page.getByRole("link", { name: "Sync jobs" }).click();
    await page.getByRole("link", { name: "New sync job" }).click();
    await page.getByLabel("Table").selectOption("products");
    await page.locator("#job-fields").waitFor();
    const offered = async (name: string) =>
      page
        .locator(`input[name=${name}]`)
        .evaluateAll((xs) => xs.map((x) => x.getAttribute("value")));
    expect(await offered("included_columns")).toEqual(["id", "title", "body", "category", "price"]);
    expect(await offered("queryable_fields")).toEqual(["title", "body", "category"]);
    expect(await page.getByLabel("Document id column").inputValue()).toBe("id");
    await page.getByLabel("Collection name").fill(collection);
    // no queryable field: the API's validation error lands next to the fieldset
    await page.getByRole("button", { name: "Create sync job" }).click();
    await eventually(() => page.locator("#queryable_fields-error").textContent()).toMatch(/\S/);
    await shot(page, "03-sync-job-validation");
    await page
      .getByRole("checkbox", { name: /^title/ })
      .first()
      .check();
    await page.locator("input[name=queryable_fields][value=body]").check();
    // the stack made the collection by hand (facets): the job must adopt it
    await page.getByLabel(/Adopt an existing collection/).check();
    // the document designer: a spec previews on the form's own page, nothing is saved
    const spec = {
      fields: [
        { name: "title", column: "title" },
        { name: "body", column: "body" },
        { name: "category", column: "category", facet: true },
        { name: "price_cents", sql: "round(price * 100)::bigint", sort: true },
      ],
    };
    await page.getByLabel("Document spec (JSON)").fill(JSON.stringify(spec, null, 2));
    await page.getByRole("button", { name: "Preview", exact: true }).click();
    await eventually(() => page.locator("#preview h2").textContent()).toBe(
      `Preview of collection ${collection}`,
    );
    expect(await page.locator("#preview pre.doc").count()).toBe(5);
    expect(await page.locator("#preview table").textContent()).toContain("price_cents");
    await shot(page, "12-document-preview");
    // the job of this walk has no spec: the editor emptied, the rest of the form as it was
    await page.getByLabel("Document spec (JSON)").fill("");
    expect(await page.getByLabel(/Adopt an existing collection/).isChecked()).toBe(true);
    await page.getByRole("button", { name: "Create sync job" }).click();
    await page.waitForURL(/\/console\/status$/);
    await eventually(() => page.locator(".flash.ok").textContent()).toContain("created");
    const card = page.locator(`article[data-job="${collection}"]`);
    expect(await card.locator(".why").textContent()).toContain("Never synced");

    // run now; the page refreshes itself (htmx) until the run has finished
    await card.getByRole("button", { name: `Run ${collection} now` }).click();
    await eventually(() => page.locator(".flash.ok").textContent()).toContain("Run queued");
    await waitForRunEnd(page, 1);
    const run = page.locator("tr[data-run]").first();
    expect(await run.locator("td").nth(4).textContent()).toBe(
      String(ROWS - ROWS_WITHOUT_CATEGORY.length),
    );
    expect(await run.locator("td").nth(3).textContent()).toContain(`${ROWS} / ${ROWS}`);
    expect(await card.locator(".why").textContent()).toContain("2 open dead letters");

    // collections of the backend, with counts and fields
    await page.getByRole("link", { name: "Backends" }).click();
    await page.getByRole("link", { name: "Collections" }).click();
    const row = page.locator("tr", { hasText: collection });
    expect(await row.locator("td").nth(1).textContent()).toBe(
      String(ROWS - ROWS_WITHOUT_CATEGORY.length),
    );
    expect(await row.locator("td").nth(2).textContent()).toContain("category: string (facet)");
    await shot(page, "05-collections");

    // dead letters: the two rows without the required category; retry fails again, discard closes
    await page.getByRole("link", { name: "Dead letters" }).click();
    const letters = page.locator("tr[data-letter]");
    await eventually(() => letters.count()).toBe(2);
    expect(await letters.first().textContent()).toContain("category");
    await shot(page, "06-dead-letters");
    await page.getByRole("button", { name: `Retry document ${ROWS_WITHOUT_CATEGORY[1]}` }).click();
    await eventually(() => page.locator(".flash.error").textContent()).toContain(
      "rejected the document again",
    );
    await page
      .getByRole("button", { name: `Discard document ${ROWS_WITHOUT_CATEGORY[0]}` })
      .click();
    await eventually(() => page.locator(".flash.ok").textContent()).toContain("discarded");
    await eventually(() => letters.count()).toBe(1);

    // live search: type (htmx), highlights, facets, paging
    await page.getByRole("link", { name: "Live search" }).click();
    await page.getByLabel("Search", { exact: true }).fill("widget");
    await eventually(() => page.locator("#results [role=status]").textContent()).toContain("found");
    await eventually(() => page.locator(".hits mark").first().textContent()).toMatch(/widget/i);
    const widgets = await page.locator(".hits li").count();
    expect(widgets).toBe(10);
    await page.getByRole("link", { name: "tools" }).click();
    await eventually(() => page.locator(".hits li").count()).toBeLessThan(widgets);
    expect(await page.locator(".hits li .hint").allTextContents()).not.toContainEqual(
      expect.stringMatching(/category: toys/),
    );
    await shot(page, "07-live-search");
    await page.goto(`${url}/console/search?q=gadget`);
    await page.getByRole("link", { name: "Next →" }).click();
    await eventually(() => page.locator(".pager span").textContent()).toMatch(/^Page 2 of \d/);

    // edit the job: stream changes (CDC); joining the stream requests a resync run
    await page.getByRole("link", { name: "Sync jobs" }).click();
    await page.getByRole("link", { name: `Edit ${collection}` }).click();
    await page.getByLabel("Stale after (seconds)").fill("1200");
    await page.getByLabel("Stream changes (CDC)").check();
    await shot(page, "08-sync-job-edit");
    await page.getByRole("button", { name: "Save changes" }).click();
    await eventually(() => page.locator(".flash.ok").textContent()).toContain("saved");
    expect(await page.locator("tr", { hasText: collection }).textContent()).toContain("20 min");
    await shot(page, "09-sync-jobs");
    await page.getByRole("link", { name: "Status" }).click();
    await waitForRunEnd(page, 2);
    expect(await page.locator("tr[data-run]").first().locator("td").nth(1).textContent()).toBe(
      "resync",
    );
    await eventually(() => card.locator(".b-streaming").count()).toBe(1);

    // rows edited in Postgres: CDC carries them to search; the plot gets samples
    for (let i = 1; i <= 4; i++) {
      await stack.source.query(
        "update products set price = price + 1 where id % $1 = 0 and category is not null",
        [i + 1],
      );
      await new Promise((r) => setTimeout(r, 1100)); // the sampler keeps one sample a second
      await page.reload();
    }
    await stack.source.query("update products set title = 'Zebra lamp 5' where id = 5");
    await eventually(async () => {
      await page.goto(`${url}/console/search?q=zebra`);
      return page.locator(".hits li").count();
    }).toBe(1);
    expect(await page.locator(".hits li h3 mark").textContent()).toBe("Zebra");
    await page.goto(`${url}/console/status`);
    expect(await page.locator("figure.plot svg polyline").count()).toBeGreaterThan(0);
    await shot(page, "04-status");

    // a phone-width view of the status page
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await shot(page, "10-status-phone");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("without JavaScript: a search-only key signs in, sees only Live search and searches", async () => {
    const ctx = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1280, height: 860 },
    });
    const page = await ctx.newPage();
    const { url } = stack;
    await page.goto(`${url}/console/login`);
    await page.getByLabel("API key").fill(stack.searchKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/console\/search/);
    expect(await page.locator("nav.main a").allTextContents()).toEqual(["Live search"]);
    await page.getByLabel("Search", { exact: true }).fill("gadget");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.waitForURL(/q=gadget/);
    expect(await page.locator(".hits mark").first().textContent()).toMatch(/gadget/i);
    await shot(page, "11-search-only-no-js");
    const denied = await page.goto(`${url}/console/backends`);
    expect(denied?.status()).toBe(403);

    // forms need the session's CSRF token and our own origin
    const post = (headers: Record<string, string>, form: Record<string, string>) =>
      page.request.post(`${url}/console/logout`, { headers, form, maxRedirects: 0 });
    expect((await post({}, {})).status()).toBe(403);
    expect((await post({ origin: "https://evil.example" }, {})).status()).toBe(403);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/console\/login/);
    expect((await page.goto(`${url}/console/search`))?.url()).toContain("/console/login");
    await ctx.close();
  });
});
