/**
 * Secrets the edge issues: API keys (`sk-porten-…`) and node keys
 * (`nk-porten-…`). Only a SHA-256 hash and a short display prefix are ever
 * stored; the full secret is shown once. Plain SHA-256 (no salt, no stretching)
 * is enough because the secrets are 256 random bits, not passwords: there is
 * nothing to guess, and a fast hash keeps auth cheap on the hot path.
 * Runs in Workers and in Node (Web Crypto in both).
 */
export const API_KEY_PREFIX = 'sk-porten-';
export const NODE_KEY_PREFIX = 'nk-porten-';
/** How much of a key operators see in listings: the prefix plus four random characters. */
const DISPLAY_CHARS = 4;

export function randomToken(bytes = 32): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function newSecret(prefix: string): string {
  return `${prefix}${randomToken(32)}`;
}

/** Lowercase hex SHA-256 of the secret's UTF-8 bytes. */
export async function hashSecret(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret));
  return [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, '0')).join('');
}

export function displayPrefix(secret: string): string {
  const at = secret.startsWith(API_KEY_PREFIX) ? API_KEY_PREFIX.length : secret.startsWith(NODE_KEY_PREFIX) ? NODE_KEY_PREFIX.length : 0;
  return secret.slice(0, at + DISPLAY_CHARS);
}

/** Short random ids for rows operators refer to (`key_…`). Not secret. */
export function newId(prefix: string): string {
  return `${prefix}${randomToken(9)}`;
}
