import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { ROOT } from '../../scripts/stack';

export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/** Debian's chromium (apt-get install chromium); PORTEN_CHROMIUM overrides the path. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.PORTEN_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Collects console errors and uncaught page errors. Chromium also logs every
 * HTTP error response as a console error ("Failed to load resource: … 404");
 * `expected` lists the paths whose error responses the test itself provokes
 * or knows about, and only those are excused.
 */
export function watchConsole(page: Page) {
  const errors: string[] = [];
  const expected = new Set<string>();
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() !== 'error') return;
    const url = m.location().url;
    if (/^Failed to load resource: the server responded with a status of \d+/.test(m.text()) && url && expected.has(new URL(url).pathname)) return;
    errors.push(`${m.text()} (${url || 'no url'})`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return { errors, expect: (p: string) => void expected.add(p) };
}

// Browser-side snippets are strings: this project's tsconfig has no DOM lib (it would clash with workers-types).

/** Form fields without an accessible name, by id/name; empty when every field is labelled. */
export function unlabelledFields(page: Page): Promise<string[]> {
  return page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
    .filter((e) => e.type !== 'hidden' && !((e.labels && e.labels.length > 0) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || (e.tagName === 'BUTTON' && e.textContent.trim())))
    .map((e) => e.tagName.toLowerCase() + '#' + (e.id || e.name || '?'))`);
}

/** True when nothing overflows the viewport horizontally (phone layouts). */
export function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate('document.documentElement.scrollWidth <= window.innerWidth');
}

/** The outline style of the focused element: anything but "none" means focus is visible. */
export function focusOutline(page: Page): Promise<string> {
  return page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
}

export function sessionValue(page: Page, key: string): Promise<string | null> {
  return page.evaluate(`sessionStorage.getItem(${JSON.stringify(key)})`);
}
