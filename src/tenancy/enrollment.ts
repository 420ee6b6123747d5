/**
 * Node enrollment by browser approval (RFC 8628, device authorization grant)
 * as a pure state machine: the Hub stores the state, these functions decide.
 * Time is always passed in.
 */

/** RFC 8628 §6.1: consonants only, so codes never spell words; no vowels, no look-alikes. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const ENROLL_TTL_MS = 10 * 60_000;
export const DEFAULT_INTERVAL_S = 5;
/** RFC 8628 §3.5: each slow_down adds five seconds to the interval. */
export const SLOW_DOWN_STEP_S = 5;
/** Polls this much early are still on time: timers and network jitter are not abuse. */
const POLL_GRACE_MS = 500;

export type StoredStatus = 'pending' | 'approved' | 'denied';
export type EnrollmentStatus = StoredStatus | 'expired';
export type PollError = 'authorization_pending' | 'slow_down' | 'access_denied' | 'expired_token';

export interface EnrollmentState {
  status: StoredStatus;
  expiresAt: number;
  intervalS: number;
  lastPollAt: number | null;
  /** When the node key was handed out; a device code is exchanged at most once. */
  claimedAt: number | null;
}

export type PollResult = { kind: 'issue'; next: EnrollmentState } | { kind: 'error'; error: PollError; message: string; next: EnrollmentState };

export type DecideResult = { ok: true; next: EnrollmentState } | { ok: false; reason: 'expired' | 'already_decided'; message: string };

export function newEnrollment(now: number, intervalS = DEFAULT_INTERVAL_S, ttlMs = ENROLL_TTL_MS): EnrollmentState {
  return { status: 'pending', expiresAt: now + ttlMs, intervalS, lastPollAt: null, claimedAt: null };
}

/** What operators see: an undecided or unclaimed code past its expiry is `expired`. */
export function effectiveStatus(s: EnrollmentState, now: number): EnrollmentStatus {
  if (s.status === 'denied') return 'denied';
  if (s.status === 'approved' && s.claimedAt !== null) return 'approved';
  if (now >= s.expiresAt) return 'expired';
  return s.status;
}

/** The agent polls the token endpoint. Order matters: a used or expired code says so before anything else. */
export function poll(s: EnrollmentState, now: number): PollResult {
  if (s.claimedAt !== null) return err('expired_token', 'This device code was already used.', s);
  if (now >= s.expiresAt) return err('expired_token', 'This enrollment expired; run `porten login` again.', s);
  if (s.status === 'denied') return err('access_denied', 'The operator denied this enrollment.', s);
  if (s.status === 'approved') return { kind: 'issue', next: { ...s, claimedAt: now, lastPollAt: now } };
  if (s.lastPollAt !== null && now - s.lastPollAt < s.intervalS * 1000 - POLL_GRACE_MS) {
    const intervalS = s.intervalS + SLOW_DOWN_STEP_S;
    return err('slow_down', `Polling too fast; wait ${intervalS} s between polls.`, { ...s, intervalS, lastPollAt: now });
  }
  return err('authorization_pending', 'Waiting for an operator to approve this enrollment.', { ...s, lastPollAt: now });
}

/** The operator approves or denies. Only a pending, unexpired code can be decided, once. */
export function decide(s: EnrollmentState, decision: 'approve' | 'deny', now: number): DecideResult {
  if (s.status !== 'pending') return { ok: false, reason: 'already_decided', message: `This enrollment was already ${s.status}.` };
  if (now >= s.expiresAt) return { ok: false, reason: 'expired', message: 'This enrollment expired; the node must run `porten login` again.' };
  return { ok: true, next: { ...s, status: decision === 'approve' ? 'approved' : 'denied' } };
}

function err(error: PollError, message: string, next: EnrollmentState): PollResult {
  return { kind: 'error', error, message, next };
}

/** Eight consonants as `XXXX-XXXX` (20^8 ≈ 2.6e10 codes), from a uniform source. */
export function newUserCode(): string {
  const out: string[] = [];
  while (out.length < 8) {
    const [b] = crypto.getRandomValues(new Uint8Array(1));
    // Rejection sampling: 240 is the largest multiple of 20 below 256, so no letter is favoured.
    if (b < 240) out.push(USER_CODE_ALPHABET[b % 20]);
  }
  return `${out.slice(0, 4).join('')}-${out.slice(4).join('')}`;
}

/** Accepts what a person types: any case, with or without the dash or spaces. Null when it cannot be a code. */
export function normalizeUserCode(input: string): string | null {
  const s = input.toUpperCase().replace(/[\s-]/g, '');
  if (s.length !== 8 || [...s].some((c) => !USER_CODE_ALPHABET.includes(c))) return null;
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}
