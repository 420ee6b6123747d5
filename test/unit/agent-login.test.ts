import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { login } from '../../nodes/agent/login';
import { readCredentials } from '../../nodes/agent/credentials';
import { parseConfig } from '../../nodes/agent/config';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'porten-login-'));
  dirs.push(d);
  return d;
}

/** A fake edge: answers the start, then the scripted token-endpoint replies in order. Records every wait. */
function fakeEdge(replies: Array<[number, unknown]>) {
  const waits: number[] = [];
  const fetch = (async (url: string) => {
    if (String(url).endsWith('/enroll')) {
      return Response.json({
        device_code: 'dev',
        user_code: 'BCDF-GHJK',
        verification_uri: 'http://e/dashboard',
        verification_uri_complete: 'http://e/dashboard#enroll=BCDF-GHJK',
        expires_in: 600,
        interval: 2,
      });
    }
    const [status, body] = replies.shift()!;
    return Response.json(body, { status });
  }) as typeof globalThis.fetch;
  return { fetch, waits, sleep: async (ms: number) => void waits.push(ms) };
}

const rfc = (code: string) => [400, { error: { message: code, type: 'invalid_request_error', param: null, code } }] as [number, unknown];

describe('porten login', () => {
  it('polls at the interval, slows down when told, and writes 0600 credentials on approval', async () => {
    const file = path.join(tmp(), 'sub', 'credentials.json');
    const edge = fakeEdge([rfc('authorization_pending'), rfc('slow_down'), rfc('authorization_pending'), [200, { node_id: 'gpu-1', node_key: 'nk-porten-x' }]]);
    const lines: string[] = [];
    const code = await login({ edgeUrl: 'http://e', credentialsPath: file, hostname: 'h', out: (l) => lines.push(l), fetch: edge.fetch, sleep: edge.sleep });
    expect(code).toBe(0);
    expect(edge.waits).toEqual([2000, 2000, 7000, 7000]);
    expect(lines.join('\n')).toContain('BCDF-GHJK');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ edge: 'http://e', node_id: 'gpu-1', node_key: 'nk-porten-x' });
  });

  it.each([
    ['access_denied', /denied/],
    ['expired_token', /expired/],
  ])('exits 1 on %s', async (error, message) => {
    const edge = fakeEdge([rfc('authorization_pending'), rfc(error)]);
    const lines: string[] = [];
    expect(
      await login({
        edgeUrl: 'http://e',
        credentialsPath: path.join(tmp(), 'c.json'),
        hostname: 'h',
        out: (l) => lines.push(l),
        fetch: edge.fetch,
        sleep: edge.sleep,
      }),
    ).toBe(1);
    expect(lines.at(-1)).toMatch(message);
  });

  it('`run` takes id, key and edge from the credentials file unless given explicitly', () => {
    const file = path.join(tmp(), 'credentials.json');
    const credentials = () => ({ ok: true as const, credentials: { edge: 'https://edge.example', node_id: 'gpu-1', node_key: 'nk-porten-x' } });
    const r = parseConfig({ PORTEN_CREDENTIALS: file }, ['run'], { hostname: 'h', homedir: '/home/a', credentials });
    expect(r.ok && r.cmd.command === 'run' && r.cmd.config).toMatchObject({
      edgeUrl: 'https://edge.example',
      nodeId: 'gpu-1',
      nodeKey: 'nk-porten-x',
      credentialsPath: file,
    });
    const explicit = parseConfig({}, ['run', '--node-key', 'k', '--node-id', 'n'], { hostname: 'h', homedir: '/home/a', credentials });
    expect(explicit.ok && explicit.cmd.command === 'run' && explicit.cmd.config).toMatchObject({ nodeId: 'n', nodeKey: 'k', edgeUrl: 'http://127.0.0.1:8787' });
    const missing = parseConfig({}, ['run'], { hostname: 'h', homedir: '/home/a', credentials: readCredentials });
    expect(missing.ok === false && missing.error).toMatch(/porten login/);
  });
});
