import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/stack';
import { waitFor } from './support';

/**
 * `npm start` as a new user meets it: the banner appears only once the local
 * agent is connected, so the first request copied from it works; the key and
 * token it prints are also in a file only the user can read.
 */
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'porten-start-'));
let child: ReturnType<typeof spawn> | undefined;

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

afterAll(async () => {
  if (child?.pid && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    process.kill(-child.pid, 'SIGTERM');
    await exited;
  }
  rmSync(stateDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('announces readiness only with its agent connected: the banner’s first request works at once', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORTEN_PORT: String(port), PORTEN_STATE_DIR: stateDir };
    for (const k of ['PORTEN_API_KEY', 'PORTEN_ADMIN_TOKEN', 'PORTEN_NODE_KEY', 'PORTEN_DEFAULT_MIN_TRUST']) delete env[k];
    child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'start.ts')], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', () => undefined);
    await waitFor('the banner', () => out.includes('porten is up'), 110_000);
    const apiKey = /API key\s+(\S+)/.exec(out)?.[1];
    const adminToken = /admin token\s+(\S+)/.exec(out)?.[1];
    expect(apiKey).toMatch(/^sk-porten-/);
    // Exactly what the banner's curl sends, the moment the banner is out.
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-small', messages: [{ role: 'user', content: 'Hello' }] }),
    });
    expect(res.status).toBe(200);
    const nodes = (await (await fetch(`http://127.0.0.1:${port}/admin/v1/nodes`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as {
      data: Array<{ id: string; trust: string; online: boolean }>;
    };
    // Its own key, recorded trusted, so the production default minimum trust (verified) holds here too.
    expect(nodes.data.find((n) => n.id === 'local-node')).toMatchObject({ online: true, trust: 'trusted' });
    const file = path.join(stateDir, 'local.env');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain(`PORTEN_API_KEY=${apiKey}`);
    expect(out).toContain(file.startsWith(process.cwd()) ? path.relative(process.cwd(), file) : file);
  }, 120_000);
});
