// Preloaded into node-based engines (`--import`). When the agent is killed with
// SIGKILL it cannot stop its children, and Linux reparents them; noticing the
// changed parent pid is the portable way for the child to end itself.
const expected = Number(process.env.PORTEN_PARENT_PID);
// Descendants inherit both our env and this preload (node-llama-cpp forks a child to test
// its binary): without this delete they would compare their own parent with the agent's
// pid and exit at once, failing the engine's start.
delete process.env.PORTEN_PARENT_PID;
if (expected > 0) {
  const timer = setInterval(() => {
    if (process.ppid !== expected) {
      process.stderr.write('porten[engine] agent is gone; exiting\n');
      process.exit(1);
    }
  }, 1000);
  timer.unref();
}
