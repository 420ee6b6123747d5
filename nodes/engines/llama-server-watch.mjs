// Runs a native engine (llama-server) and ends it when the agent dies without a chance
// to stop it (SIGKILL): the Node counterpart of `parent-watch.mjs` for binaries that
// cannot preload it. Used where `setpriv --pdeathsig` is missing (macOS, Windows, musl
// images without util-linux).
//
//   node llama-server-watch.mjs <binary> [args...]
//
// The wrapper shares the engine's process group, so the supervisor's SIGTERM/SIGKILL
// reaches both; it exits with the engine's own status.
import { spawn } from 'node:child_process';
import os from 'node:os';

const [binary, ...args] = process.argv.slice(2);
if (!binary) {
  process.stderr.write('usage: llama-server-watch.mjs <binary> [args...]\n');
  process.exit(2);
}
const expected = Number(process.env.PORTEN_PARENT_PID);
const child = spawn(binary, args, { stdio: 'inherit' });
child.once('error', (err) => {
  process.stderr.write(`porten[engine] cannot start ${binary}: ${err.message}\n`);
  process.exit(127);
});
// A signal death reads as 128+n, as a shell reports it; the supervisor only needs "it exited".
child.once('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => child.kill(sig));
if (expected > 0) {
  setInterval(() => {
    if (process.ppid !== expected) {
      process.stderr.write('porten[engine] agent is gone; stopping the engine\n');
      child.kill('SIGKILL');
      process.exit(1);
    }
  }, 1000).unref();
}
