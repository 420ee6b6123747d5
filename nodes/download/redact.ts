/**
 * Redaction of what must never leave the node in a message: credentials in URLs (userinfo), signed
 * query strings (a CDN URL after Hugging Face's redirect carries `X-Amz-Signature=…`, `Expires=…`),
 * bearer tokens and Hugging Face tokens. Every error or log line built from a URL or a peer's words
 * passes through `redactText` (DownloadError does it in its constructor; loads.ts does it for every
 * failure it reports).
 *
 * Contract: pure, never throws, idempotent (redacting twice changes nothing more), and it changes
 * nothing but those secrets: scheme, host, port and path stay readable, so the operator still sees
 * which file on which host failed.
 */

/** http(s) and ws(s) URLs inside free text; ends at whitespace, quotes or brackets. */
const URL_IN_TEXT = /\b(?:https?|wss?):\/\/[^\s"'<>()[\]{}]+/gi;
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/g;
/** Hugging Face user and organisation tokens (`hf_` + 30-40 letters). */
const HF_TOKEN = /\bhf_[A-Za-z0-9]{20,}\b/g;

/** One URL: `https://user:pw@host:1/p/x.gguf?sig=…#f` → `https://host:1/p/x.gguf?…`. Not a URL: returned as is. */
export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(url);
  if (!m) return url;
  const [, scheme, authority, path, query, fragment] = m;
  const host = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
  const q = query && query !== '?' && query !== '?…' ? '?…' : (query ?? '');
  return `${scheme}${host}${path}${q}${fragment ? '#…' : ''}`;
}

/** Every URL, bearer token and HF token in `text`, redacted. */
export function redactText(text: string): string {
  return text
    .replace(URL_IN_TEXT, (u) => redactUrl(u))
    .replace(BEARER, '$1 …')
    .replace(HF_TOKEN, 'hf_…');
}
