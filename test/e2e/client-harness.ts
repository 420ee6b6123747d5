import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type Recorder, startRecorder } from './client-recorder';
import { type NetworkTrap, startNetworkTrap } from './network-trap';
import { bootStack, waitForNode } from './support';

export interface ClientHarness {
  stack: Awaited<ReturnType<typeof bootStack>>;
  /** The recording proxy the client talks to (its base URL), in front of the edge. */
  rec: Recorder;
  /** The refusing proxy the client's environment points at: any network attempt shows up here. */
  trap: NetworkTrap;
  /** A folder for the client's home and config, removed afterwards. */
  scratch: string;
}

/**
 * What a suite running a real agent client (OpenCode, Continue) needs, set up before its tests and torn
 * down after them: a stack with one node, the recorder, the network trap and a scratch folder. The
 * fields are filled in by `beforeAll`: read them inside tests, not at module load.
 */
export function clientHarness(name: string): ClientHarness {
  const h = {} as ClientHarness;
  beforeAll(async () => {
    h.stack = await bootStack({ agents: [{ nodeId: 'node-a', budgetMb: 4096 }] });
    await waitForNode(h.stack, 'node-a');
    h.rec = await startRecorder(h.stack.url);
    h.trap = await startNetworkTrap();
    h.scratch = mkdtempSync(path.join(os.tmpdir(), `porten-${name}-`));
  });
  afterAll(async () => {
    await h.trap?.close();
    await h.rec?.close();
    await h.stack?.stop();
    if (h.scratch) rmSync(h.scratch, { recursive: true, force: true });
  });
  return h;
}
