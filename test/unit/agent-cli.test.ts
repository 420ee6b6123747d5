import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { renderModels, scanModels } from '../../nodes/agent/local-models';
import { readStatus, renderStatus, StatusWriter, type Status } from '../../nodes/agent/status';
import { writePartialState } from '../../nodes/download/partial-state';
import { recordVerified } from '../../nodes/download/verified-cache';
import pkg from '../../nodes/package.json';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(ROOT, 'nodes/bin/porten.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'porten-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const porten = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, HOME: tmp } });

describe('the porten command (compiled, as installed)', () => {
  it('--version names the version, protocol and platform', () => {
    const r = porten('--version');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^porten ${pkg.version.replace(/\./g, '\\.')} \\(protocol v1; node v\\d+\\.\\d+\\.\\d+ ${process.platform}-${process.arch}\\)\\n$`),
    );
  });

  it.each([
    ['help run', ['help', 'run']],
    ['run --help', ['run', '--help']],
  ])('`porten %s` prints the per-command help', (_n, args) => {
    const r = porten(...args);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: porten run \[flags\]\n/);
    expect(r.stdout).toContain('--budget-mb N');
    expect(r.stdout).not.toContain('--dry-run');
  });

  it.each([
    ['run', ['run', '--no-such-flag'], /^porten run: unknown flag --no-such-flag \(see `porten help run`\)\n$/],
    ['models', ['models', '--edge', 'x'], /^porten models: unknown flag --edge/],
    ['an unknown command', ['serve'], /^porten: unknown command: serve/],
  ])('a bad command line (%s): one line on stderr, exit 2', (_n, args, message) => {
    const r = porten(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('status with no agent running: says so, exit 1', () => {
    const r = porten('status', '--status-file', path.join(tmp, 'none.json'));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/no agent is running/);
  });
});

const status = (over: Partial<Status> = {}): Status => ({
  v: 1,
  pid: process.pid,
  version: '0.1.0',
  started_at: 1_000_000,
  updated_at: 1_000_000 + 185_000,
  node_id: 'gpu-box',
  edge: 'https://edge.example',
  link: { state: 'connected', since: 1_000_000 + 5000 },
  budget: { mb: 22323, source: 'gpu', detail: 'cuda 1 GPU(s): min(total 24576, free 23552 + own 0) − reserve 1229 MiB' },
  used_mb: 4100,
  hardware: { backend: 'cuda', driver: '550.54.15', gpus: [{ name: 'NVIDIA GeForce RTX 4090', vram_mb: 24564 }], budget_source: 'gpu', threads: 16 },
  inflight: 2,
  models: [
    { model: 'qwen-7b', phase: 'ready', vram_mb: 4100 },
    { model: 'llama-70b', phase: 'downloading', done_bytes: 3 * 2 ** 30, total_bytes: 40 * 2 ** 30, bytes_per_sec: 250 * 2 ** 20 },
    { model: 'gated', phase: 'failed', error: { code: 'download_failed', message: 'Hugging Face answered HTTP 401' } },
  ],
  ...over,
});

describe('porten status', () => {
  it('renders link, memory, hardware, models with phase and downloads with bytes', () => {
    expect(renderStatus(status(), true, 1_000_000 + 185_500)).toBe(
      [
        `porten 0.1.0 · node gpu-box · pid ${process.pid} · up 3m`,
        'edge      https://edge.example (connected for 3m)',
        'memory    budget 22323 MiB, used 4100 MiB (gpu: cuda 1 GPU(s): min(total 24576, free 23552 + own 0) − reserve 1229 MiB)',
        'hardware  cuda; NVIDIA GeForce RTX 4090 (24564 MiB); driver 550.54.15; 16 engine threads',
        'requests  2 in flight',
        'models',
        '  MODEL      PHASE        MEMORY    PROGRESS',
        '  qwen-7b    ready        4100 MiB',
        '  llama-70b  downloading            7% 3072.0/40960.0 MiB 250.0 MiB/s',
        '  gated      failed                 download_failed: Hugging Face answered HTTP 401',
        '',
      ].join('\n'),
    );
  });

  it('the writer keeps the file fresh and 0600, the reader tells live from stale and dead', async () => {
    const file = path.join(tmp, 'st', 'status.json');
    const w = new StatusWriter(file, () => status({ updated_at: Date.now() }));
    w.start();
    const live = await (async () => {
      for (;;) {
        const r = await readStatus(file, Date.now(), () => true);
        if (r.ok) return r;
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    expect(live.live).toBe(true);
    expect((await import('node:fs')).statSync(file).mode & 0o777).toBe(0o600);
    expect((await readStatus(file, Date.now(), () => false)).ok && (await readStatus(file, Date.now(), () => false))).toMatchObject({ live: false });
    expect(await readStatus(file, Date.now() + 60_000, () => true)).toMatchObject({ ok: true, live: false });
    await w.stop();
    expect(await readStatus(file, Date.now(), () => true)).toMatchObject({ ok: false, missing: true });
    writeFileSync(file, '{"v":1}');
    expect(await readStatus(file, Date.now(), () => true)).toMatchObject({
      ok: false,
      missing: false,
      error: expect.stringMatching(/not a porten status file/),
    });
  });

  it('a stale status says the agent is not running', () => {
    expect(renderStatus(status(), false, 1_000_000 + 185_000 + 60_000).split('\n')[0]).toBe(
      `porten is not running (last status from pid ${process.pid}, 60s ago)`,
    );
  });
});

describe('porten models', () => {
  it('lists weights with sizes and verification state; a split model once; downloads in progress', async () => {
    const dir = path.join(tmp, 'models');
    await mkdir(dir, { recursive: true });
    const put = async (name: string, bytes: number) => writeFile(path.join(dir, name), Buffer.alloc(bytes));
    await put('verified.gguf', 3 << 20);
    await recordVerified(path.join(dir, 'verified.gguf'), 'a'.repeat(64));
    await put('sized.gguf', 1 << 20);
    await recordVerified(path.join(dir, 'sized.gguf'), null);
    await put('changed.gguf', 1 << 20);
    await recordVerified(path.join(dir, 'changed.gguf'), 'b'.repeat(64));
    utimesSync(path.join(dir, 'changed.gguf'), new Date(), new Date(Date.now() + 5000)); // touched after verification
    for (const i of [1, 2]) {
      await put(`big-0000${i}-of-00002.gguf`, 2 << 20);
      await recordVerified(path.join(dir, `big-0000${i}-of-00002.gguf`), 'c'.repeat(64));
    }
    await put('half-00001-of-00003.gguf', 1024);
    await put('coming.gguf.partial', 4 << 20);
    await writePartialState(path.join(dir, 'coming.gguf'), { url: 'u', total: 4 << 20, etag: null, segments: [{ start: 0, end: 4 << 20, done: 1 << 20 }] });

    const models = await scanModels(dir);
    expect(models.map((m) => [m.model, m.verification, m.bytes])).toEqual([
      ['big', 'sha256', 4 << 20],
      ['changed', 'unverified', 1 << 20],
      ['coming', 'downloading', 4 << 20],
      ['half', 'incomplete', 1024],
      ['sized', 'size', 1 << 20],
      ['verified', 'sha256', 3 << 20],
    ]);
    const text = renderModels(dir, models);
    expect(text).toMatch(/^big +4\.0 MiB +verified \(sha256\) +big-00001-of-00002\.gguf \+1$/m);
    expect(text).toMatch(/^coming +4\.0 MiB +downloading 25% +coming\.gguf\.partial$/m);
    expect(text).toMatch(/^half +0\.0 MiB +incomplete split \(1 of 3 parts\)/m);
    expect(text).toMatch(/^changed +1\.0 MiB +not verified/m);

    const r = porten('models', '--models-dir', dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(text);
  });

  it('an empty or missing directory is an empty list', async () => {
    expect(await scanModels(path.join(tmp, 'nope'))).toEqual([]);
    expect(porten('models', '--models-dir', path.join(tmp, 'nope')).stdout).toMatch(/^no models in /);
  });
});
