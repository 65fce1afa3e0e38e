/** Debian's Chromium driven by playwright-core, with the flags this machine needs, and screenshot helpers. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { UI_DIR } from "./build.ts";

export const CHROMIUM = process.env.PERPETUANET_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = join(UI_DIR, "test-output", "screenshots");

export const VIEWPORTS = [
  { name: "1280x800", width: 1280, height: 800 },
  { name: "800x600", width: 800, height: 600 },
] as const;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless=new",
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

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/**
 * Layout problems a user would see: a horizontal scrollbar on the page, a navigation button or the
 * status badge outside the window, the header's pieces on top of each other, text cut off inside a
 * button. Returns descriptions (empty = fine).
 */
export async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const vw = document.documentElement.clientWidth;
    const vh = document.documentElement.clientHeight;
    if (document.documentElement.scrollWidth > vw + 1) {
      problems.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${vw}`);
    }
    const inside = (el: Element, what: string) => {
      const r = el.getBoundingClientRect();
      if (r.left < -1 || r.right > vw + 1 || r.top < -1 || r.bottom > vh + 1) {
        problems.push(`${what} is outside the window: ${JSON.stringify(r)}`);
      }
      return r;
    };
    for (const el of document.querySelectorAll("[data-testid^=nav-]"))
      inside(el, el.getAttribute("data-testid") ?? "nav");
    const badge = document.querySelector("[data-testid=status-badge]");
    const title = document.querySelector("header h1");
    if (!badge) problems.push("no status badge");
    if (badge && title) {
      const a = inside(badge, "status badge");
      const b = title.getBoundingClientRect();
      if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) {
        problems.push("the status badge overlaps the title");
      }
    }
    // Buttons whose label is cut (wider content than box) without an ellipsis on purpose.
    for (const el of document.querySelectorAll("button, [role=button]")) {
      const h = el as HTMLElement;
      if (h.offsetParent === null) continue;
      if (h.scrollWidth > h.clientWidth + 1 && getComputedStyle(h).textOverflow !== "ellipsis") {
        problems.push(`button "${h.getAttribute("aria-label") ?? h.textContent}" is clipped`);
      }
    }
    return problems;
  });
}

/**
 * Opens `url` and waits for the app's ready marker; a timeout reports what the page said (console
 * errors, failed requests) instead of a bare "timed out".
 */
export async function openApp(page: Page, url: string, timeoutMs = 15_000): Promise<void> {
  const trouble: string[] = [];
  const onConsole = (m: { type(): string; text(): string }) => {
    if (m.type() === "error") trouble.push(`console: ${m.text()}`);
  };
  const onFailed = (r: { url(): string; failure(): { errorText: string } | null }) =>
    trouble.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`);
  page.on("console", onConsole);
  page.on("requestfailed", onFailed);
  try {
    await page.goto(url);
    await page.locator("body[data-app-ready=true]").waitFor({ timeout: timeoutMs });
  } catch (error) {
    throw new Error(`the app did not get ready: ${(error as Error).message}\n${trouble.join("\n")}`);
  } finally {
    page.off("console", onConsole);
    page.off("requestfailed", onFailed);
  }
}
