/**
 * The builtin engine: an OpenAI-compatible HTTP server around node-llama-cpp,
 * run by the node agent as a child process.
 *
 *   node --import tsx nodes/engines/builtin/server.ts --model PATH --port N
 *        [--host 127.0.0.1] [--ctx 512] [--threads 1] [--parallel 4] [--name MODEL_ID] [--gpu auto|false]
 *
 * It listens at once and answers /health with 503 until the model is loaded, so
 * the agent can tell "loading" from "dead". Exit codes: 0 after SIGTERM/SIGINT,
 * 1 when the model fails to load or the port cannot be bound, 2 for bad arguments.
 */
import { createServer } from 'node:http';
import { parseEngineArgs } from './args';
import { loadEngine } from './engine';
import { createRouter, type ServerState } from './router';

const log = (line: string) => process.stderr.write(`[builtin] ${line}\n`);

const parsed = parseEngineArgs(process.argv.slice(2));
if (!parsed.ok) {
  log(`bad arguments: ${parsed.error}`);
  process.exit(2);
}
const args = parsed.args;
const stopping = new AbortController();
const state: ServerState = { name: args.name, stopping: stopping.signal, log, inflight: 0 };
const server = createServer(createRouter(state));
server.keepAliveTimeout = 65_000; // longer than typical client pools, so a reused socket is not closed under a request

server.on('error', (err) => {
  log(`server error: ${err.message}`);
  process.exit(1);
});
server.listen(args.port, args.host, () => {
  const addr = server.address();
  log(`listening on http://${args.host}:${typeof addr === 'object' && addr ? addr.port : args.port}`);
});

const started = Date.now();
loadEngine(args).then(
  (engine) => {
    if (stopping.signal.aborted) return void engine.dispose();
    state.engine = engine;
    log(
      `ready: model=${args.name} ctx=${engine.contextSize} parallel=${args.parallel} threads=${args.threads} vram_mb=${engine.vramMb} load_ms=${Date.now() - started}`,
    );
    const f = engine.chatFormat;
    if (f.broken) log(`chat template unusable, chats will fail: ${f.broken}`);
    else
      log(
        `chat format: ${f.generic ? 'generic (no template in the GGUF)' : 'own template'}, tool calls ${f.syntax?.kind ?? 'none'}, reasoning ${f.reasoning ? f.reasoning.start : 'none'}`,
      );
  },
  (err: unknown) => {
    log(`failed to load ${args.model}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

async function shutdown(signal: string): Promise<void> {
  if (stopping.signal.aborted) return;
  log(`${signal}: stopping`);
  // A stuck native call must not keep the agent waiting for its SIGKILL grace period.
  setTimeout(() => process.exit(0), 3000).unref();
  stopping.abort(new Error('server stopping')); // ends in-flight generations, freeing their sequences
  server.close();
  server.closeIdleConnections();
  // Aborted generations return within a token or two; let them send their engine_stopping error, then cut the rest.
  for (let waited = 0; state.inflight > 0 && waited < 1000; waited += 10) await new Promise((r) => setTimeout(r, 10));
  server.closeAllConnections();
  try {
    await state.engine?.dispose();
  } catch (err) {
    log(`dispose failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
