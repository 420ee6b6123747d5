import { DownloadError } from './errors';

export interface ResolvedUrl {
  url: string;
  headers: Record<string, string>;
  /** For hf:// references: `org/repo/path@revision`, for messages; and whether a token was attached. */
  hf?: { ref: string; token: boolean };
}

/** Where hf:// resolves and with which token; the agent fills it from its configuration. */
export interface HfSettings {
  /** default https://huggingface.co */
  endpoint?: string;
  token?: string;
}

export const HF_DEFAULT_ENDPOINT = 'https://huggingface.co';

/**
 * The Hugging Face settings from the environment, as the HF tools read them: HF_ENDPOINT and
 * HF_TOKEN, with PORTEN_HF_ENDPOINT (and the older PORTEN_HF_BASE) winning over HF_ENDPOINT.
 */
export function hfFromEnv(env: Record<string, string | undefined>): HfSettings {
  const endpoint = env.PORTEN_HF_ENDPOINT || env.PORTEN_HF_BASE || env.HF_ENDPOINT || undefined;
  return { endpoint, token: env.HF_TOKEN || undefined };
}

/**
 * Maps a model URL to what we actually fetch. `http(s)://` passes through untouched;
 * `hf://org/repo/path/in/repo[@revision]` (or `hf://org/repo@revision/path`) becomes
 * `<endpoint>/org/repo/resolve/<revision|main>/path` with a bearer token when one is set. Pure.
 * The token is only ever attached to hf:// URLs, never to arbitrary origins, and the HTTP client
 * drops it when a redirect leaves the endpoint's origin (the CDN never sees it).
 */
export function resolveUrl(url: string, hf: HfSettings = {}): ResolvedUrl {
  if (/^https?:\/\//i.test(url)) return { url, headers: {} };
  const m = /^hf:\/\/([^/@]+)\/([^/@]+)(?:@([^/]+))?\/([^@]+?)(?:@([^/@]+))?$/.exec(url);
  if (!m || (m[3] && m[5])) {
    throw new DownloadError('download_failed', `unsupported model URL ${JSON.stringify(url)} (expected http(s):// or hf://org/repo/path[@revision])`);
  }
  const [, org, repo, revBefore, filePath, revAfter] = m;
  const revision = revBefore ?? revAfter ?? 'main';
  const base = (hf.endpoint || HF_DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const encodedPath = filePath.split('/').map(encodeURIComponent).join('/');
  const resolved = `${base}/${encodeURIComponent(org)}/${encodeURIComponent(repo)}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
  const headers: Record<string, string> = {};
  if (hf.token) headers.authorization = `Bearer ${hf.token}`;
  return { url: resolved, headers, hf: { ref: `${org}/${repo}/${filePath}@${revision}`, token: !!hf.token } };
}
