/**
 * The CLI's surface as data: every flag once (its environment variable, placeholder and help), and
 * every command with the flags it accepts. Parsing (config.ts) and help (cli-help.ts) are derived
 * from these tables, so a new command or flag is one row here plus its field in the command's schema.
 */
export interface FlagSpec {
  /** Environment variable read when the flag is absent (a flag wins over its variable). */
  env?: string;
  /** Placeholder of the value in help; absent for boolean switches. */
  value?: string;
  /** One line of help; the default goes in `def`. */
  help: string;
  def?: string;
  short?: string;
}

export const FLAGS = {
  edge: { env: 'PORTEN_EDGE_URL', value: 'URL', help: 'edge base URL', def: 'http://127.0.0.1:8787, or the credentials file' },
  'node-id': { env: 'PORTEN_NODE_ID', value: 'ID', help: "this node's id", def: 'the credentials file, else the hostname' },
  'node-key': { env: 'PORTEN_NODE_KEY', value: 'KEY', help: 'node key issued by the edge (prefer `porten login`)', def: 'the credentials file' },
  credentials: { env: 'PORTEN_CREDENTIALS', value: 'FILE', help: 'written by `login` (mode 0600), read by `run`', def: '~/.porten/credentials.json' },
  'models-dir': { env: 'PORTEN_MODELS_DIR', value: 'DIR', help: 'where weights live', def: '~/.porten/models' },
  'budget-mb': { env: 'PORTEN_VRAM_BUDGET_MB', value: 'N', help: 'memory the planner may fill, in MiB', def: 'detected (see docs/running-a-node.md)' },
  'max-concurrency': { env: 'PORTEN_MAX_CONCURRENCY', value: 'N', help: 'concurrent requests on this node', def: '4' },
  threads: { env: 'PORTEN_ENGINE_THREADS', value: 'N', help: 'CPU threads per engine (for `worker`: its CPU device)', def: 'physical cores' },
  region: { env: 'PORTEN_REGION', value: 'NAME', help: 'informational; the operator assigns regions' },
  'openai-upstream': { env: 'PORTEN_OPENAI_UPSTREAM', value: 'URL', help: 'default upstream for engine "openai"' },
  'openai-upstream-allow': {
    env: 'PORTEN_OPENAI_UPSTREAM_ALLOW',
    value: 'URLS',
    help: 'comma-separated further upstreams a catalog entry may name; the node fronts no other URL',
  },
  'hf-endpoint': { env: 'PORTEN_HF_ENDPOINT', value: 'URL', help: 'where hf:// references resolve (also HF_ENDPOINT)', def: 'https://huggingface.co' },
  'gguf-engine': {
    env: 'PORTEN_GGUF_ENGINE',
    value: 'NAME',
    help: 'runs GGUF models: builtin (node-llama-cpp) or llama-server (docs/engines.md)',
    def: 'builtin',
  },
  'llama-server': {
    env: 'PORTEN_LLAMA_SERVER',
    value: 'FILE',
    help: 'the llama-server binary to run (the node offers engine llama-server only when it has one)',
    def: 'the one `npm run llama:build` made',
  },
  'rpc-workers': {
    env: 'PORTEN_RPC_WORKERS',
    value: 'LIST',
    help: 'host:port[=MB],... of `porten worker`s: one node pooling their memory (docs/combined-machines.md)',
  },
  host: {
    env: 'PORTEN_WORKER_HOST',
    value: 'ADDR',
    help: 'address ggml-rpc-server listens on (anything but loopback: private networks only)',
    def: '127.0.0.1',
  },
  port: { env: 'PORTEN_WORKER_PORT', value: 'N', help: 'RPC port; the status side channel listens on the next one', def: '50052' },
  device: { env: 'PORTEN_WORKER_DEVICE', value: 'LIST', help: 'devices to lend, e.g. CUDA0,CUDA1', def: 'all' },
  'memory-mb': {
    env: 'PORTEN_WORKER_MEMORY_MB',
    value: 'N',
    help: 'the most a combined node may use here, in MiB',
    def: '90% of what the worker reports free',
  },
  'status-file': { env: 'PORTEN_STATUS_FILE', value: 'FILE', help: '`run` rewrites it every second; `status` reads it', def: '~/.porten/status.json' },
  json: { help: 'print JSON instead of a table' },
  user: { help: 'a per-user service (systemd --user, ~/Library/LaunchAgents)', def: 'on' },
  system: { help: 'a system service (/etc/systemd/system, /Library/LaunchDaemons; needs root)' },
  'dry-run': { help: 'print the unit or plist and where it would go; change nothing' },
  help: { help: 'show help', short: 'h' },
  version: { help: 'print the version', short: 'V' },
} as const satisfies Record<string, FlagSpec>;
export type Flag = keyof typeof FLAGS;

export interface CommandSpec {
  usage: string;
  summary: string;
  /** Paragraphs shown by `porten help <command>` after the usage line. */
  details?: string[];
  flags: readonly Flag[];
}

/** What `run` and `service install` (which writes a `run` command line into the unit) accept. */
const RUN_FLAGS = [
  'edge',
  'node-id',
  'node-key',
  'credentials',
  'models-dir',
  'budget-mb',
  'max-concurrency',
  'threads',
  'region',
  'openai-upstream',
  'openai-upstream-allow',
  'hf-endpoint',
  'gguf-engine',
  'llama-server',
  'rpc-workers',
  'status-file',
] as const satisfies readonly Flag[];

export const COMMANDS = {
  run: {
    usage: 'porten run [flags]',
    summary: 'connect to the edge and serve models',
    details: [
      'Dials out to the edge over a WebSocket, downloads and verifies the weights the edge asks for, runs engines as child processes and relays their answers. Reconnects by itself; stops its engines on SIGTERM or Ctrl-C.',
      'Secrets come from the environment or files, never from the unit: HF_TOKEN for gated Hugging Face weights, the node key from the credentials file (`porten login`).',
      'Logs are JSON lines on stderr, one object per event: {"t","level","scope","msg",…fields}; each request logs one `request` line with id, request_id, model, status, ttft_ms and total_ms. URLs lose their userinfo and query string, bearer and hf_ tokens are masked.',
      "Each stream is flow-controlled by the edge: the agent answers every request at once (the edge's first-reply deadline) and stops reading an engine while the client has not consumed its window (the edge's PORTEN_STREAM_WINDOW_KB); it pings the edge every 2 s and redials after 6 s of silence.",
      'Exit codes: 0 stopped by a signal; 1 a runtime failure (a restart may help); 2 a bad command line or configuration; 3 the edge refused this node for good (revoked, its key or id refused, or a protocol version it does not speak): no restart fixes that, so the service unit does not restart on 2 or 3.',
    ],
    flags: RUN_FLAGS,
  },
  worker: {
    usage: 'porten worker [flags]',
    summary: "lend this machine's memory to a combined node (llama.cpp RPC server)",
    details: [
      "Runs llama.cpp's ggml-rpc-server (PORTEN_GGML_RPC_SERVER, else the one `npm run llama:build` made) until stopped; a combined node (`porten run --rpc-workers host:port`) pools what it lends. It ends with this process, even when that is SIGKILLed. See docs/combined-machines.md.",
      'The RPC protocol has no authentication and no encryption: whoever reaches the port can use this machine. It listens on 127.0.0.1 unless --host names another address; use a private network only.',
      'Exit codes: 0 stopped by a signal; 1 ggml-rpc-server stopped before it listened, or died; 2 a bad command line, or no ggml-rpc-server found.',
    ],
    flags: ['host', 'port', 'device', 'memory-mb', 'threads'],
  },
  login: {
    usage: 'porten login [flags]',
    summary: 'enroll this node: approve it in the browser, store its key',
    details: ['Shows a code and a link; an operator approves it on the dashboard, and the node key is saved to the credentials file (mode 0600).'],
    flags: ['edge', 'credentials'],
  },
  status: {
    usage: 'porten status [flags]',
    summary: 'what the running agent is doing: link, models, downloads, memory',
    details: ['Reads the status file the running agent rewrites every second. Exit code 0 when an agent is running, 1 when none is (or its file is stale).'],
    flags: ['status-file', 'json'],
  },
  models: {
    usage: 'porten models [flags]',
    summary: 'weights on this machine, with sizes and verification state',
    flags: ['models-dir', 'json'],
  },
  service: {
    usage: 'porten service install|uninstall|status [flags]',
    summary: 'run the agent as a systemd (Linux) or launchd (macOS) service',
    details: [
      '`install` writes a unit (or plist) whose command line is `porten run` with the flags given here, then enables and starts it. A --node-key given here is stored in the credentials file (0600), never in the unit; HF_TOKEN, when set, goes to ~/.porten/agent.env (0600), which the unit reads.',
      'Logs go to the journal (`journalctl --user -u porten -f`) or, on macOS, to ~/Library/Logs/porten.log. The service restarts on failure.',
    ],
    flags: [...RUN_FLAGS, 'user', 'system', 'dry-run'],
  },
  help: { usage: 'porten help [command]', summary: 'show help for a command', flags: [] },
  version: { usage: 'porten version', summary: 'print the version', flags: [] },
} as const satisfies Record<string, CommandSpec>;
export type Command = keyof typeof COMMANDS;

export function isCommand(s: string): s is Command {
  return Object.hasOwn(COMMANDS, s);
}
