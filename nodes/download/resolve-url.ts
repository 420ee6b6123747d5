import { DownloadError } from './errors';

export interface ResolvedUrl {
  url: string;
  headers: Record<string, string>;
}

export interface ResolveEnv {
  HF_TOKEN?: string;
  PORTEN_HF_BASE?: string;
}

const HF_DEFAULT_BASE = 'https://huggingface.co';

/**
 * Maps a model URL to what we actually fetch. `http(s)://` passes through untouched;
 * `hf://org/repo[@revision]/path/in/repo` becomes `<base>/org/repo/resolve/<revision|main>/path`
 * with a bearer token when HF_TOKEN is set. Pure: the environment is passed in.
 * The token is only ever attached to hf:// URLs, never to arbitrary origins.
 */
export function resolveUrl(url: string, env: ResolveEnv): ResolvedUrl {
  if (/^https?:\/\//i.test(url)) return { url, headers: {} };
  const m = /^hf:\/\/([^/]+)\/([^/@]+)(?:@([^/]+))?\/(.+)$/.exec(url);
  if (!m) {
    throw new DownloadError('download_failed', `unsupported model URL ${JSON.stringify(url)} (expected http(s):// or hf://org/repo/path)`);
  }
  const [, org, repo, revision, filePath] = m;
  const base = (env.PORTEN_HF_BASE || HF_DEFAULT_BASE).replace(/\/+$/, '');
  const encodedPath = filePath.split('/').map(encodeURIComponent).join('/');
  const resolved = `${base}/${encodeURIComponent(org)}/${encodeURIComponent(repo)}/resolve/${encodeURIComponent(revision ?? 'main')}/${encodedPath}`;
  const headers: Record<string, string> = {};
  if (env.HF_TOKEN) headers.authorization = `Bearer ${env.HF_TOKEN}`;
  return { url: resolved, headers };
}
