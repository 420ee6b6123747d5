// sha256 of a file as it is being written, in a worker thread so hashing never runs on the agent's
// event loop (which relays token streams). The main thread says how far the file is on disk
// contiguously from byte 0 ({until}); this thread reads that far back (page cache) and hashes it.
// {digest: total} answers {digest} once `total` bytes are hashed; any failure answers {error}.
// Plain JavaScript: it runs as is from the sources and from the build (copied beside the bundle).
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const READ_BYTES = 4 << 20;
const hash = createHash('sha256');
const buf = Buffer.allocUnsafe(READ_BYTES);
const fd = openSync(workerData.path, 'r');
let pos = 0;
let until = 0;
let want = -1;

function pump() {
  try {
    while (pos < until) {
      const n = readSync(fd, buf, 0, Math.min(READ_BYTES, until - pos), pos);
      if (n <= 0) throw new Error(`file ended at ${pos} while hashing`);
      hash.update(buf.subarray(0, n));
      pos += n;
    }
    if (want >= 0 && pos >= want) {
      if (pos !== want) throw new Error(`hashed ${pos} of ${want} bytes`);
      closeSync(fd);
      parentPort.postMessage({ digest: hash.digest('hex') });
      parentPort.close();
    }
  } catch (err) {
    parentPort.postMessage({ error: err instanceof Error ? err.message : String(err) });
    parentPort.close();
  }
}

parentPort.on('message', (m) => {
  if (typeof m.until === 'number') until = Math.max(until, m.until);
  if (typeof m.digest === 'number') {
    want = m.digest;
    until = Math.max(until, want);
  }
  pump();
});
