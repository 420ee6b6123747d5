/**
 * The client address unauthenticated throttles are keyed by. On Cloudflare,
 * `CF-Connecting-IP` is set by the platform on every request from the
 * internet (a client cannot forge it). Without it — the local workerd of `npm
 * start` and the tests, or a trusted internal caller — the key is
 * `LOCAL_SOURCE`, which per-address budgets exempt (one developer's machine;
 * the fleet-wide caps still apply). IPv6 clients are grouped by their /64,
 * because one subscriber usually holds a whole /64 and could otherwise rotate
 * through 2^64 keys.
 */
export const LOCAL_SOURCE = 'local';

export function clientKey(req: Request): string {
  return throttleKey(req.headers.get('cf-connecting-ip'));
}

/** Pure: the header value → a throttle key (`v4:1.2.3.4`, `v6:2001:db8:0:1::/64`, `local`). */
export function throttleKey(header: string | null): string {
  // An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is that IPv4 client, not one of a shared /64.
  const ip = (header?.trim() ?? '').replace(/^::ffff:(?=\d{1,3}(?:\.\d{1,3}){3}$)/i, '');
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(ip)) return `v4:${ip}`;
  if (ip.includes(':') && /^[0-9a-fA-F:.]{2,45}$/.test(ip)) {
    const groups = expandV6(ip);
    if (groups) return `v6:${groups.slice(0, 4).join(':')}::/64`;
  }
  return LOCAL_SOURCE;
}

/** Eight lowercase hex groups, or null when `ip` is not an IPv6 address. */
function expandV6(ip: string): string[] | null {
  const halves = ip.toLowerCase().split('::');
  if (halves.length > 2) return null;
  const part = (s: string) => (s ? s.split(':') : []);
  const head = part(halves[0]);
  const tail = halves.length === 2 ? part(halves[1]) : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const last = tail.length ? tail : head;
  if (last.length && last[last.length - 1].includes('.')) last.splice(-1, 1, '0', '0');
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.replace(/^0+(?=.)/, ''));
}
