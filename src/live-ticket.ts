import { safeEqual } from './security/constant-time';

/**
 * Short-lived, single-use tickets for the dashboard's live WebSocket.
 * Browsers cannot set an Authorization header on `new WebSocket()`, so the
 * page first calls `POST /admin/v1/live-ticket` with its admin token and then
 * opens `/admin/v1/live?ticket=…`. A ticket is `<expiry ms>.<nonce>.<HMAC-SHA256(admin
 * token, "live:" + expiry + "." + nonce)>`: any isolate verifies it without
 * storage, it is useless after `LIVE_TICKET_TTL_MS`, it never reveals the
 * admin token (which therefore stays out of URLs, logs and the upgrade
 * request), and the Hub accepts its MAC once (`Hub.useLiveTicket`), so a
 * ticket seen in a log or a proxy cannot be replayed within its minute.
 */
export const LIVE_TICKET_TTL_MS = 60_000;

async function sign(secret: string, payload: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(payload)));
  return base64url(mac);
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

export async function issueLiveTicket(secret: string, now = Date.now()): Promise<{ ticket: string; expires_at: number }> {
  const exp = now + LIVE_TICKET_TTL_MS;
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(12)));
  return { ticket: `${exp}.${nonce}.${await sign(secret, `live:${exp}.${nonce}`)}`, expires_at: exp };
}

/** The ticket's MAC and expiry when it is unexpired and signed with `secret`; else null. Never throws. */
export async function verifyLiveTicket(
  secret: string | undefined,
  ticket: string | null | undefined,
  now = Date.now(),
): Promise<{ mac: string; expiresAt: number } | null> {
  if (!secret || !ticket) return null;
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{20,64})$/.exec(ticket);
  if (!m) return null;
  const exp = Number(m[1]);
  if (exp < now || exp > now + LIVE_TICKET_TTL_MS) return null;
  return safeEqual(m[3], await sign(secret, `live:${exp}.${m[2]}`)) ? { mac: m[3], expiresAt: exp } : null;
}
