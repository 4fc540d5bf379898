import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { ROOT } from "../support/cli.js";

export const CHROMIUM = "/usr/bin/chromium";

/**
 * Makes sure Debian's chromium is installed, through the project's own
 * script (apt-get, idempotent). Returns why the browser test cannot run, or
 * undefined when it can. Only a machine where apt is impossible (not root)
 * skips; CI runs as root and installs it.
 */
export function ensureChromium(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  try {
    execFileSync("bash", [join(ROOT, ".ci", "install-chromium.sh")], {
      stdio: ["ignore", "inherit", "inherit"],
      timeout: 600_000,
    });
  } catch (e) {
    return `.ci/install-chromium.sh failed (${e instanceof Error ? e.message : String(e)})`;
  }
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} still missing after install`;
}

/**
 * Headless chromium with the flags this machine needs (no sandbox as root, no
 * background networking: the network is closed). Playwright gives every
 * launch a fresh temporary profile (it refuses --user-data-dir here).
 */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
