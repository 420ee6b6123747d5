import { safeEqual } from './auth';

/**
 * Short-lived tickets for the dashboard's live WebSocket. Browsers cannot set
 * an Authorization header on `new WebSocket()`, so the page first calls
 * `POST /admin/v1/live-ticket` with its admin token and then opens
 * `/admin/v1/live?ticket=…`. A ticket is `<expiry ms>.<HMAC-SHA256(admin
 * token, "live:" + expiry)>`: stateless (no storage, any isolate verifies it),
 * useless after `LIVE_TICKET_TTL_MS`, and it never reveals the admin token —
 * which therefore stays out of URLs, logs and the upgrade request.
 */
export const LIVE_TICKET_TTL_MS = 60_000;

async function sign(secret: string, payload: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(payload)));
  return btoa(String.fromCharCode(...mac)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function issueLiveTicket(secret: string, now = Date.now()): Promise<{ ticket: string; expires_at: number }> {
  const exp = now + LIVE_TICKET_TTL_MS;
  return { ticket: `${exp}.${await sign(secret, `live:${exp}`)}`, expires_at: exp };
}

/** True only for an unexpired ticket signed with `secret`. Never throws. */
export async function verifyLiveTicket(secret: string | undefined, ticket: string | null | undefined, now = Date.now()): Promise<boolean> {
  if (!secret || !ticket) return false;
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{20,64})$/.exec(ticket);
  if (!m) return false;
  const exp = Number(m[1]);
  if (exp < now || exp > now + LIVE_TICKET_TTL_MS) return false;
  return safeEqual(m[2], await sign(secret, `live:${exp}`));
}
