/**
 * A one-line download progress bar for an agent running in a terminal. Pure
 * rendering (`renderBar`) apart from the writer, which redraws in place with a
 * carriage return and only when stderr is a TTY (logs stay clean otherwise).
 */
export function renderBar(model: string, done: number, total: number, bytesPerSec: number, width = 28): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(frac * width);
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  const eta = bytesPerSec > 0 && total > done ? ` eta ${Math.ceil((total - done) / bytesPerSec)}s` : '';
  return `${model} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mb(done)}/${mb(total)} MB ${mb(bytesPerSec)} MB/s${eta}`;
}

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr) {
  const live = stream.isTTY === true;
  return {
    update(model: string, done: number, total: number, bytesPerSec: number): void {
      if (live) stream.write(`\r${renderBar(model, done, total, bytesPerSec)}\x1b[K`);
    },
    finish(): void {
      if (live) stream.write('\n');
    },
  };
}
