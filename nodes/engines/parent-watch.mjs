// Preloaded into node-based engines (`--import`). When the agent is killed with
// SIGKILL it cannot stop its children, and Linux reparents them; noticing the
// changed parent pid is the portable way for the child to end itself.
const expected = Number(process.env.PORTEN_PARENT_PID);
if (expected > 0) {
  const timer = setInterval(() => {
    if (process.ppid !== expected) {
      process.stderr.write('porten[engine] agent is gone; exiting\n');
      process.exit(1);
    }
  }, 1000);
  timer.unref();
}
