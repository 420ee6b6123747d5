import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { continueEntry, continueHome, runCli } from './client-clis';
import { clientHarness } from './client-harness';
import { requestBody, servedChats } from './client-wire';

// The Continue CLI (npm `@continuedev/cli`, command `cn`) in headless mode (`cn -p`), with porten as an
// OpenAI-compatible model in its config.yaml. It sends its agent prompt with nine described tools and no
// tool_choice (so "auto"); that needs more than a 512-token demo model, so it runs on demo-qwen2.5 (32k).

const MODEL = 'demo-qwen2.5';
const RUN_TIMEOUT_MS = 120_000;
/**
 * cn 1.5.47 asks https://api.continue.dev/cn/info for the latest version whenever it starts, with no switch to
 * turn that off; through the refusing proxy it fails at once and cn carries on. Nothing else may try the network.
 */
const KNOWN_VERSION_CHECK = 'api.continue.dev:443';

const h = clientHarness('continue');

describe('Continue CLI', () => {
  it('completes a headless turn: its agent prompt and tools reach porten, and cn prints what porten streamed', async () => {
    const where = continueHome(h.scratch, { baseURL: h.rec.url, apiKey: h.stack.apiKey, model: MODEL, contextLength: 32768, outputTokens: 32 });
    Object.assign(where.env, h.trap.env, {
      // Continue's own hub API goes to the trap too, so a call to it would show up by path.
      CONTINUE_API_BASE: `${h.trap.url}/continue-api/`,
      // Headless cn runs its Bash tool without asking. With only node on PATH, a random-weight model that happens
      // to call it finds no programs to run.
      PATH: path.dirname(process.execPath),
    });
    const run = await runCli(process.execPath, [continueEntry(), '-p', '--config', where.configFile, 'List the files in this project.'], where, RUN_TIMEOUT_MS);
    expect(run.code, `${run.stdout.slice(-1000)}\n${run.stderr.slice(-2000)}`).toBe(0);

    const chats = servedChats(h.rec.exchanges);
    const first = requestBody(chats[0].ex);
    expect(first).toMatchObject({ model: MODEL, stream: true, stream_options: { include_usage: true }, max_tokens: 32 });
    expect(first).not.toHaveProperty('tool_choice');
    const messages = first.messages as Array<{ role: string; content: unknown }>;
    expect(messages[0].role).toBe('system');
    expect(messages.at(-1)).toEqual({ role: 'user', content: 'List the files in this project.' });
    const tools = first.tools as Array<{ function: { name: string; description?: string } }>;
    expect(tools.map((t) => t.function.name)).toEqual(expect.arrayContaining(['Read', 'List', 'Bash', 'Fetch']));
    for (const t of tools) expect(t.function.description?.length, t.function.name).toBeGreaterThan(0);

    // cn prints the final answer: the content porten streamed for the last request.
    expect(run.stdout.trim()).toBe(chats.at(-1)!.answer.content.trim());
    expect(
      h.trap.attempts.filter((a) => a !== KNOWN_VERSION_CHECK),
      'network attempts',
    ).toEqual([]);
  });
});
