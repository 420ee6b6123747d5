import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLlamaCppBuild } from '../../scripts/llama-cpp/build';
import { freePort } from '../../nodes/engines/ports';
import { parseDeviceMemory, parseHello, probeRpcServer, RPC_CMD, rpcPortState, rpcRequest, takeResponse } from '../../nodes/engines/rpc-client';
import { fetchWorkerStatus, serveWorkerStatus, statusUrl } from '../../nodes/engines/rpc-status';

describe('RPC frames', () => {
  it('encodes a request as cmd, u64 size, payload', () => {
    const p = Buffer.from([1, 0, 0, 0]);
    expect([...rpcRequest(RPC_CMD.GET_DEVICE_MEMORY, p)]).toEqual([11, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    expect([...rpcRequest(RPC_CMD.DEVICE_COUNT)]).toEqual([15, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('takes a response only once it is whole', () => {
    const frame = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([2, 0, 0, 0]), Buffer.from([9])]);
    expect(takeResponse(frame.subarray(0, 7))).toBeUndefined();
    expect(takeResponse(frame.subarray(0, 11))).toBeUndefined();
    const r = takeResponse(frame)!;
    expect([...r.payload]).toEqual([2, 0, 0, 0]);
    expect([...r.rest]).toEqual([9]);
  });

  it('reads HELLO and device memory answers', () => {
    expect(parseHello(Buffer.from([7, 0, 0, 0, ...Array(24).fill(0)]))).toEqual({ major: 7, minor: 0, patch: 0 });
    const m = Buffer.alloc(16);
    m.writeBigUInt64LE(5n * 1024n ** 3n, 0);
    m.writeBigUInt64LE(8n * 1024n ** 3n, 8);
    expect(parseDeviceMemory(m)).toEqual({ freeBytes: 5 * 1024 ** 3, totalBytes: 8 * 1024 ** 3 });
    expect(() => parseDeviceMemory(Buffer.alloc(8))).toThrow(/8 bytes/);
  });

  it('names the status port next to the RPC port', () => {
    expect(statusUrl('10.0.0.2:50052')).toBe('http://10.0.0.2:50053/porten/worker');
    expect(statusUrl('[fd00::2]:50052')).toBe('http://[fd00::2]:50053/porten/worker');
  });
});

describe('against a real ggml-rpc-server', () => {
  let server: ChildProcess;
  let endpoint: string;

  beforeAll(async () => {
    const bin = (await ensureLlamaCppBuild()).rpcServer;
    const port = await freePort();
    endpoint = `127.0.0.1:${port}`;
    server = spawn(bin, ['--host', '127.0.0.1', '--port', String(port), '--threads', '1'], { stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    while ((await rpcPortState(endpoint, 500)) !== 'open') {
      if (Date.now() > deadline) throw new Error('ggml-rpc-server did not listen');
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 1_800_000);

  afterAll(() => {
    server?.kill('SIGKILL');
  });

  it('answers with its protocol version and the memory of its device', async () => {
    const r = await probeRpcServer(endpoint);
    expect(r.state).toBe('up');
    if (r.state !== 'up') return;
    expect(r.version).toMatch(/^7\./);
    expect(r.devices.length).toBeGreaterThan(0);
    expect(r.devices[0].totalBytes).toBeGreaterThan(r.devices[0].freeBytes / 2);
    expect(r.devices[0].freeBytes).toBeGreaterThan(0);
  });

  it('is busy while another client holds it (one client at a time), up again once it leaves', async () => {
    const holder = net.connect({ host: '127.0.0.1', port: Number(endpoint.split(':')[1]) });
    await new Promise((r) => holder.once('connect', r));
    // The holder has said nothing; the server waits on it, so a second client gets no answer.
    expect(await probeRpcServer(endpoint, 500)).toMatchObject({ state: 'busy' });
    holder.destroy();
    const deadline = Date.now() + 10_000;
    let r = await probeRpcServer(endpoint, 1000);
    while (r.state !== 'up' && Date.now() < deadline) r = await probeRpcServer(endpoint, 1000);
    expect(r.state).toBe('up');
  });

  it('reports a port nobody listens on as down (refused)', async () => {
    const port = await freePort();
    expect(await probeRpcServer(`127.0.0.1:${port}`)).toEqual({ state: 'down', detail: 'ECONNREFUSED' });
    expect(await rpcPortState(`127.0.0.1:${port}`)).toBe('refused');
  });
});

describe('worker status port', () => {
  it('serves alive and lend_mb; refused once closed', async () => {
    const rpcPort = await freePort();
    let alive = true;
    const srv = await serveWorkerStatus({ host: '127.0.0.1', port: rpcPort + 1, rpc: `127.0.0.1:${rpcPort}`, lendMb: 512, alive: () => alive });
    const ep = `127.0.0.1:${rpcPort}`;
    expect(await fetchWorkerStatus(ep)).toEqual({ kind: 'status', status: { porten_worker: 1, rpc: ep, alive: true, lend_mb: 512 } });
    alive = false;
    expect(await fetchWorkerStatus(ep)).toMatchObject({ kind: 'status', status: { alive: false } });
    await new Promise((r) => srv.close(r));
    expect(await fetchWorkerStatus(ep)).toEqual({ kind: 'refused' });
  });
});
