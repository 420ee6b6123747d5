import { DownloadError } from './errors';
import { FetchFailure } from './fetch-range';
import type { ResolvedUrl } from './resolve-url';

/**
 * A weights origin's refusal, explained for the operator (it reaches the warming view and the
 * node's log): what the status means and what to do about it, with Hugging Face's gated and
 * private repositories spelled out. Takes a probe status or a transfer's error; null when it is
 * neither a refusal nor a redirect failure (the caller keeps its own message).
 */
export function originRefusal(cause: number | unknown, target: ResolvedUrl): DownloadError | null {
  if (cause instanceof FetchFailure && cause.kind === 'redirect') return new DownloadError('download_failed', cause.message, { cause });
  const status = typeof cause === 'number' ? cause : cause instanceof FetchFailure && cause.kind === 'http' ? cause.status : undefined;
  if (status === undefined) return null;
  const what = target.hf?.ref ?? target.url;
  const hf = target.hf;
  let why: string | null = null;
  if (status === 401 || (status === 403 && hf)) {
    why = hf
      ? hf.token
        ? `Hugging Face refused HF_TOKEN (HTTP ${status}) for ${what}: check that the token is valid and has read access, and that its account accepted the model's terms on its page`
        : `Hugging Face answered HTTP ${status} for ${what}: the model is gated or private; accept its terms on the model page and set HF_TOKEN on the node (a token with read access)`
      : `the origin requires credentials (HTTP ${status}) for ${what}`;
  } else if (status === 403) why = `the origin refused access (HTTP 403) to ${what}`;
  else if (status === 404 || status === 410)
    why = `${what} does not exist on the origin (HTTP ${status})${hf ? ': check the repository, file name and revision' : ''}`;
  else if (status === 407) why = `a proxy requires authentication (HTTP 407) for ${what}`;
  else if (status === 451) why = `the origin withholds ${what} for legal reasons (HTTP 451)`;
  return why === null ? null : new DownloadError('download_failed', why, { cause });
}
