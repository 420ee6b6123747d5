// npm run screenshots: the README's pictures of the playground and the dashboard, taken from the real local stack
// (edge on workerd, demo origin, one agent with the builtin engine) with Debian's Chromium through playwright-core.
// Writes docs/images/playground.png and docs/images/dashboard.png; PORTEN_CHROMIUM points at another Chromium.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, startStack } from './stack';

const OUT = path.join(ROOT, 'docs', 'images');
const NODE = 'gpu-box-1';
const VIEWPORT = { width: 1280, height: 860 };

async function waitForNode(url: string, token: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const res = await fetch(`${url}/admin/v1/nodes`, { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
    const nodes = res?.ok ? ((await res.json()) as { data: Array<{ id: string; online: boolean }> }).data : [];
    if (nodes.some((n) => n.id === NODE && n.online)) return;
  }
  throw new Error(`node ${NODE} did not connect`);
}

const workDir = mkdtempSync(path.join(os.tmpdir(), 'porten-shots-'));
const stack = await startStack({ workDir, log: () => {}, agents: [{ nodeId: NODE, budgetMb: 4096 }] });
const browser = await chromium.launch({
  executablePath: process.env.PORTEN_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  await waitForNode(stack.url, stack.adminToken);
  mkdirSync(OUT, { recursive: true });
  // Some traffic first, so the dashboard's demand chart, decisions and usage have something to show.
  for (const model of ['demo-small', 'demo-plain', 'demo-small']) {
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'Hello' }] }),
    });
    if (!res.ok) throw new Error(`warm-up request for ${model}: ${res.status} ${await res.text()}`);
  }

  const page = await browser.newPage({ viewport: VIEWPORT, deviceScaleFactor: 1 });
  await page.goto(`${stack.url}/playground`);
  await page.getByLabel('Key', { exact: true }).fill(stack.apiKey);
  await page.getByRole('button', { name: 'Use key' }).click();
  await page.locator('label[data-model="demo-small"] [data-state="ready"]').waitFor();
  await page.getByLabel(/demo-small/).check();
  await page.getByLabel('Message').fill('Write a haiku about GPUs.');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('li.msg.assistant[data-state="done"]').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: path.join(OUT, 'playground.png') });

  await page.goto(`${stack.url}/dashboard`);
  await page.getByLabel('Token', { exact: true }).fill(stack.adminToken);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator(`article[data-node="${NODE}"] li[data-model="demo-small"][data-phase="ready"]`).waitFor();
  await page.locator('#live[data-state="live"]').waitFor();
  await page.locator('#demand svg polyline[data-model="demo-small"]').waitFor();
  await page.locator('#decisions tbody tr').first().waitFor();
  // From the fleet down: the token form above it is the same as the playground's.
  await page.setViewportSize({ width: VIEWPORT.width, height: 2400 });
  const fleet = await page.locator('#fleet').boundingBox();
  if (!fleet) throw new Error('no fleet section');
  await page.screenshot({ path: path.join(OUT, 'dashboard.png'), clip: { x: 0, y: fleet.y - 16, width: VIEWPORT.width, height: 1100 } });
  console.log(`screenshots: ${path.relative(ROOT, OUT)}/playground.png, dashboard.png`);
} finally {
  await browser.close();
  await stack.stop();
  rmSync(workDir, { recursive: true, force: true });
}
