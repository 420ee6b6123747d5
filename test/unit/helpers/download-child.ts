// Child process for the kill-and-resume test: downloads, printing each progress report as a JSON line.
import { ensureFile } from '../../../nodes/download';

const [url, dest, sha256] = process.argv.slice(2);
ensureFile({ url, dest, sha256, onProgress: (p) => process.stdout.write(`${JSON.stringify(p)}\n`) }).then(
  () => process.stdout.write('"done"\n'),
  (err) => {
    process.stderr.write(`${err}\n`);
    process.exit(1);
  },
);
