import { redactText } from './redact';

/** Closed set of failure codes the node agent reports upward (see ARCHITECTURE: downloads). */
export const DOWNLOAD_ERROR_CODES = ['download_failed', 'verify_failed', 'disk_full', 'cancelled'] as const;
export type DownloadErrorCode = (typeof DOWNLOAD_ERROR_CODES)[number];

/** Its message is redacted on construction (redact.ts): it may reach the Hub, clients' warming view and logs. */
export class DownloadError extends Error {
  readonly code: DownloadErrorCode;
  constructor(code: DownloadErrorCode, message: string, options?: { cause?: unknown }) {
    super(redactText(message), options);
    this.name = 'DownloadError';
    this.code = code;
  }
}

/** Turns any thrown value into a DownloadError; `cancelled` wins when the signal fired. */
export function toDownloadError(err: unknown, signal?: AbortSignal): DownloadError {
  if (err instanceof DownloadError) return err;
  if (signal?.aborted) return new DownloadError('cancelled', 'download cancelled', { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new DownloadError('download_failed', message, { cause: err });
}
