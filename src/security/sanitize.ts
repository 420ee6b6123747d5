/**
 * Redaction of text that crosses a trust boundary. Pure and shared by the
 * edge and the node agent (no Worker or Node APIs), so both ends apply the same
 * rules:
 *
 * - `redactSecrets` keeps a message useful for the person who owns the machine
 *   (paths, hosts, status codes stay) but removes what must never be written
 *   down: URL credentials (`user:pass@`), query strings (signed-URL
 *   signatures), bearer tokens, porten and Hugging Face keys, `key=value`
 *   secrets, and any value the caller names as secret. The node's local log
 *   goes through it.
 * - `publicMessage` is for anything a client can read (API errors, the public
 *   warming view): one line, secrets redacted as above, and every URL, file
 *   path and network address replaced by a placeholder, capped in length. The
 *   edge applies it to every node-originated message, whatever the agent did.
 */

const REDACTED = '[redacted]';
/** The longest client-visible node message; the full text stays in the node's log. */
export const PUBLIC_MESSAGE_MAX = 240;

// scheme://… up to whitespace or a quote that usually ends a URL in prose; brackets stay (IPv6 hosts, `[redacted]`),
// and trailing punctuation is given back to the sentence.
const URL_RE = /\b[a-z][a-z0-9+.-]{1,15}:\/\/[^\s"'<>(){}]*[^\s"'<>(){}.,:;!?]/gi;
const USERINFO_RE = /(\b[a-z][a-z0-9+.-]{1,15}:\/\/)[^\s/@"'<>]+@/gi;
const BEARER_RE = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi;
/** Tokens with a recognisable shape: porten API/node keys, Hugging Face tokens. */
const KEY_RE = /\b(?:sk-porten-|nk-porten-|hf_)[A-Za-z0-9_-]{6,}/g;
/** Long opaque strings: possibly a secret of unknown shape (only redacted in public messages, where ids are not needed). */
const OPAQUE_RE = /\b[A-Za-z0-9_-]{32,}\b/g;
/** sha1 and sha256 digests are identifiers, not secrets: they stay readable in "sha256 mismatch" messages. */
const DIGEST_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const KV_SECRET_RE =
  /\b((?:[A-Za-z0-9_-]*(?:token|secret|password|passwd|api[_-]?key|apikey|access[_-]?key|signature|credential)s?)|sig)(["']?\s*[=:]\s*["']?)[^\s"'&,;]+/gi;
// Absolute POSIX paths with at least two segments, home-relative paths, and Windows drive paths.
const POSIX_PATH_RE = /(^|[\s"'(=:,])((?:\/[^\s/"'():,;]+){2,}\/?|~\/[^\s"'():,;]*)/g;
const WINDOWS_PATH_RE = /\b[A-Za-z]:\\[^\s"'():,;]*/g;
const IPV4_RE = /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g;
const HOST_PORT_RE = /\b(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{1,5}\b/gi;
// Control characters other than tab and newline (escape sequences from engine output, NULs).
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
const CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/**
 * Removes secrets from `text`, keeping everything else. `known` lists secret
 * values the caller holds (the node key, HF_TOKEN); each occurrence becomes
 * `[redacted]`. With `opaque`, any run of 32+ token characters that is not a
 * sha1/sha256 digest goes too (public text; a local log keeps request ids).
 * Never throws.
 */
export function redactSecrets(text: string, known: readonly (string | undefined)[] = [], opaque = false): string {
  let out = String(text);
  for (const k of known) if (k && k.length >= 4) out = out.split(k).join(REDACTED);
  // Query strings first (while the URL is still whole), then credentials in the authority.
  out = out.replace(URL_RE, (url) => {
    const q = url.search(/[?#]/);
    return q === -1 ? url : `${url.slice(0, q)}?${REDACTED}`;
  });
  out = out.replace(USERINFO_RE, `$1${REDACTED}@`);
  out = out.replace(BEARER_RE, (_m, scheme: string) => `${scheme} ${REDACTED}`);
  out = out.replace(KV_SECRET_RE, (_m, key: string, sep: string) => `${key}${sep}${REDACTED}`);
  out = out.replace(KEY_RE, REDACTED);
  if (opaque) out = out.replace(OPAQUE_RE, (t) => (DIGEST_RE.test(t) ? t : REDACTED));
  return out;
}

/**
 * What a client may read of a node's message: the first non-empty line,
 * secrets redacted, URLs, paths and addresses replaced by `[url]`, `[path]`,
 * `[address]`, at most `max` characters. Returns `fallback` when nothing is
 * left. Never throws.
 */
export function publicMessage(text: unknown, fallback = 'the node reported a failure', max = PUBLIC_MESSAGE_MAX): string {
  const raw = typeof text === 'string' ? text : '';
  const line =
    raw
      .replace(CONTROL_RE, '')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? '';
  // URLs go whole before anything else, so no part of one (credentials, signature, internal host) survives.
  let out = redactSecrets(line.replace(URL_RE, '[url]'), [], true);
  out = out.replace(WINDOWS_PATH_RE, '[path]');
  out = out.replace(POSIX_PATH_RE, (_m, lead: string) => `${lead}[path]`);
  out = out.replace(IPV4_RE, '[address]');
  out = out.replace(HOST_PORT_RE, '[address]');
  out = out.replace(/\s+/g, ' ').trim();
  if (out.length > max) out = `${out.slice(0, max - 1)}…`;
  return out || fallback;
}
