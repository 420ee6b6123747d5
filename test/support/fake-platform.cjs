// STAND-IN for another machine, for npm's own platform checks (preloaded with `node -r` into npm):
// npm decides EBADPLATFORM for required packages from process.platform, process.arch and, on Linux,
// the C library /usr/bin/ldd names. This makes npm see PORTEN_FAKE_OS / PORTEN_FAKE_CPU /
// PORTEN_FAKE_LIBC instead, so `npm install --dry-run` runs the same checks it would run there.
const fs = require('node:fs');

const os = process.env.PORTEN_FAKE_OS;
const cpu = process.env.PORTEN_FAKE_CPU;
const libc = process.env.PORTEN_FAKE_LIBC;
if (os) Object.defineProperty(process, 'platform', { value: os });
if (cpu) Object.defineProperty(process, 'arch', { value: cpu });
if (libc) {
  const read = fs.readFileSync;
  fs.readFileSync = function (file, ...rest) {
    if (file === '/usr/bin/ldd') return libc === 'musl' ? 'musl libc (x86_64)\n' : 'ldd (GNU libc)\nGNU C Library\n';
    return read.call(this, file, ...rest);
  };
}
