import { ApiError } from './errors';

/** Constant-time string comparison, so a key's prefix cannot be guessed byte by byte from timing. */
export function safeEqual(a: string, b: string): boolean {
  const enc = new TextEncoder();
  const x = enc.encode(a);
  const y = enc.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

export function bearer(req: Request): string | null {
  const h = req.headers.get('authorization');
  const m = h ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  return m ? m[1].trim() : null;
}

/** Throws 401 unless the request carries `expected` as its bearer token. */
export function requireBearer(req: Request, expected: string | undefined, what: string): void {
  const got = bearer(req);
  if (!got) throw new ApiError('invalid_api_key', `You didn't provide ${what}. Send it as 'Authorization: Bearer <key>'.`);
  if (!expected || !safeEqual(got, expected)) throw new ApiError('invalid_api_key', `Incorrect ${what} provided.`);
}
