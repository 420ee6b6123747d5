import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tryLock } from '../../scripts/llama-cpp/build';
import { llamaCppBinaries, resolveLlamaBinary } from '../../nodes/engines/llama-server-binary';

const dir = mkdtempSync(path.join(os.tmpdir(), 'porten-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the build lock', () => {
  it('is taken once: a second taker waits while the holder lives', () => {
    const lock = path.join(dir, 'a.lock');
    expect(tryLock(lock)).toBe(true);
    expect(readFileSync(path.join(lock, 'pid'), 'utf8')).toBe(String(process.pid));
    expect(tryLock(lock)).toBe(false);
  });

  it('is taken over from a builder that died', async () => {
    const lock = path.join(dir, 'b.lock');
    const dead = spawn(process.execPath, ['-e', '0']);
    const pid = dead.pid!;
    await new Promise((r) => dead.once('exit', r));
    mkdirSync(lock);
    writeFileSync(path.join(lock, 'pid'), String(pid));
    expect(tryLock(lock)).toBe(true);
    expect(readFileSync(path.join(lock, 'pid'), 'utf8')).toBe(String(process.pid));
  });

  it('counts a lock being created (no pid file yet) as held', () => {
    const lock = path.join(dir, 'c.lock');
    mkdirSync(lock);
    expect(tryLock(lock)).toBe(false);
  });
});

describe('resolveLlamaBinary', () => {
  it('uses an override that is an executable, and refuses one that is not', () => {
    expect(resolveLlamaBinary('llama-server', { PORTEN_LLAMA_SERVER: process.execPath })).toEqual({ ok: true, path: process.execPath });
    const r = resolveLlamaBinary('ggml-rpc-server', { PORTEN_GGML_RPC_SERVER: path.join(dir, 'nope') });
    expect(r).toEqual({ ok: false, error: expect.stringContaining(`PORTEN_GGML_RPC_SERVER: ${path.join(dir, 'nope')} is not an executable file`) });
  });

  it('finds a finished build in the cache, never an unfinished one', () => {
    const cache = path.join(dir, 'cache');
    const bins = llamaCppBinaries(path.join(cache, 'llama.cpp', 'v1-abc', 'build'));
    mkdirSync(path.dirname(bins.llamaServer), { recursive: true });
    writeFileSync(bins.llamaServer, '#!/bin/sh\n', { mode: 0o755 });
    const env = { PORTEN_CACHE_DIR: cache };
    expect(resolveLlamaBinary('llama-server', env)).toMatchObject({ ok: false, error: expect.stringContaining('npm run llama:build') });
    writeFileSync(bins.stamp, '{}\n');
    expect(existsSync(bins.stamp)).toBe(true);
    expect(resolveLlamaBinary('llama-server', env)).toEqual({ ok: true, path: bins.llamaServer });
  });
});
