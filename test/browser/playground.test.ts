import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { bootStack, waitFor, waitForNode } from '../e2e/support';
import { fitsWidth, focusOutline, launchBrowser, screenshot, sessionValue, unlabelledFields, watchConsole } from './support';

type Stack = Awaited<ReturnType<typeof bootStack>>;
// 80 Mbit/s ≈ 10 MB/s: demo-large (66 MB) downloads for ~7 s, long enough to watch the bar move.
const THROTTLE_MBPS = 80;

describe('playground', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let console: ReturnType<typeof watchConsole>;

  beforeAll(async () => {
    stack = await bootStack({ agents: [{ nodeId: 'pg-node', budgetMb: 4096 }] });
    await waitForNode(stack, 'pg-node');
    browser = await launchBrowser();
    page = await browser.newPage();
    console = watchConsole(page);
  });
  afterAll(async () => {
    // The browser first, so nothing reconnects to an edge that is going away.
    await browser?.close();
    await stack?.stop();
  });

  it('lists models with capability badges and state once an API key is entered', async () => {
    await page.goto(`${stack.url}/playground`);
    expect(await page.title()).toContain('playground');
    await page.getByLabel('Key', { exact: true }).fill(stack.apiKey);
    await page.getByRole('button', { name: 'Use key' }).click();
    const large = page.locator('label[data-model="demo-large"]');
    await large.waitFor();
    expect(await large.locator('[data-state]').textContent()).toBe('cold');
    expect(await page.locator('label[data-model="demo-small"] .badge').allTextContents()).toEqual(expect.arrayContaining(['chat', 'json', 'tools']));
    expect(await sessionValue(page, 'porten.apiKey')).toBe(stack.apiKey);
    expect(await unlabelledFields(page)).toEqual([]);
  });

  it('shows a cold model warming with a rising progress bar, then streams the answer', async () => {
    // Every value the bar takes, recorded in the page as it happens (no polling from the test).
    await page.evaluate(`{
      window.__warm = [];
      const bar = document.getElementById('warm-bar');
      const box = document.getElementById('warm');
      new MutationObserver(() => window.__warm.push({ phase: box.dataset.phase, pct: Number(bar.getAttribute('aria-valuenow')) }))
        .observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
    }`);
    stack.origin.setRate(THROTTLE_MBPS);
    await page.getByLabel(/demo-large/).check();
    await page.getByLabel('Message').fill('Hello there');
    await page.getByRole('button', { name: 'Send' }).click();

    await page.locator('#warm[data-phase="downloading"]').waitFor();
    await page.locator('#warm-bar:not([aria-valuenow="0"])').waitFor();
    expect(await page.locator('#warm-label').textContent()).toContain('Downloading');
    expect(await page.locator('#warm-detail').textContent()).toMatch(/\d+% · [\d.]+ \/ [\d.]+ MB/);
    await screenshot(page, 'playground-warming');
    await page.locator('#warm[data-phase="loading"], #warm[data-phase="ready"]').waitFor({ timeout: 120_000 });
    stack.origin.setRate(null);

    const answer = page.locator('li.msg.assistant').last();
    await page.locator('li.msg.assistant[data-state="done"]').waitFor({ timeout: 120_000 });
    expect((await answer.locator('.text').textContent())!.length).toBeGreaterThan(0);
    expect(await page.locator('#warm').getAttribute('data-phase')).toBe('ready');

    const seen = await page.evaluate<Array<{ phase: string; pct: number }>>('window.__warm');
    const downloading = seen.filter((s) => s.phase === 'downloading' && s.pct > 0 && s.pct < 100).map((s) => s.pct);
    expect(new Set(downloading).size).toBeGreaterThanOrEqual(2);
    expect(downloading).toEqual([...downloading].sort((a, b) => a - b));
    // The bar went through "loading into memory" or straight to ready, never backwards.
    expect(seen.at(-1)).toMatchObject({ phase: 'ready', pct: 100 });
    await page.locator('label[data-model="demo-large"] [data-state="ready"]').waitFor();
    await screenshot(page, 'playground-answer');
  });

  it('stops a request with the Stop button', async () => {
    // A slow origin keeps demo-plain warming, so the request is certainly still open when Stop is pressed.
    stack.origin.setRate(0.1);
    await page.getByLabel(/demo-plain/).check();
    await page.getByLabel('Message').fill('Never mind');
    await page.keyboard.press('Control+Enter');
    await page.locator('#warm:not([hidden])').waitFor();
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('li.msg.assistant[data-state="stopped"]').waitFor();
    expect(await page.getByRole('button', { name: 'Send' }).isEnabled()).toBe(true);
    stack.origin.setRate(null);
  });

  it("shows the request's place in the model's queue while it waits", async () => {
    // Two requests from elsewhere wait for cold demo-small first (a very slow origin keeps them waiting).
    stack.origin.setRate(0.05);
    const others = [0, 1].map(() =>
      fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'demo-small', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }),
      }).then((r) => r.text()),
    );
    await waitFor('two queued requests', async () => {
      const r = await fetch(`${stack.url}/public/v1/models/warming?model=demo-small`);
      return ((await r.json()) as { queued?: number }).queued === 2;
    });
    await page.getByLabel(/demo-small/).check();
    await page.getByLabel('Message').fill('Am I in line?');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('#warm[data-queued="3"]').waitFor();
    expect(await page.locator('#warm-detail').textContent()).toContain('queued: 3rd of 3');
    await screenshot(page, 'playground-queued');
    stack.origin.setRate(null);
    // The other two answers first: a request that throws must not be left running when the stack stops.
    await Promise.all(others);
    await page.locator('li.msg.assistant:last-child[data-state="done"]').waitFor({ timeout: 120_000 });
    expect(await page.locator('#warm').getAttribute('data-queued')).toBe('');
  });

  it("shows a reasoning model's thinking in its own block, apart from the answer", async () => {
    await page.getByLabel(/demo-r1/).check();
    await page.getByLabel('Message').fill('Think it over first');
    const streamed = page.waitForResponse((r) => r.url().endsWith('/v1/chat/completions') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Send' }).click();
    const answer = page.locator('li.msg.assistant').last();
    await answer.locator('.reasoning-text').waitFor({ timeout: 120_000 });
    await page.locator('li.msg.assistant:last-child[data-state="done"]').waitFor({ timeout: 120_000 });
    // What the API streamed, split as the API split it (random weights: the texts themselves mean nothing).
    let reasoning = '';
    let content = '';
    for (const line of (await (await streamed).text()).split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const delta = (JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { reasoning_content?: string; content?: string } }> }).choices?.[0]?.delta;
      reasoning += delta?.reasoning_content ?? '';
      content += delta?.content ?? '';
    }
    expect(reasoning.length).toBeGreaterThan(0);
    expect(await answer.locator('.reasoning summary').textContent()).toBe('Reasoning');
    expect(await answer.locator('.reasoning-text').textContent()).toBe(reasoning);
    expect(await answer.locator('.text').textContent()).toBe(content);
    // The block comes before the answer's text.
    expect(await answer.evaluate((li) => [...li.children].map((c) => c.className))).toEqual(['who', 'reasoning', 'text']);
    await screenshot(page, 'playground-reasoning');
  });

  it('works at phone width without console errors', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, 'playground-phone');
    // Keyboard focus is visible.
    await page.getByLabel('Message').focus();
    expect(await focusOutline(page)).not.toBe('none');
    expect(console.errors).toEqual([]);
  });
});
