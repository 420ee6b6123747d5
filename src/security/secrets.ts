/**
 * Minimum strength for the secrets an operator configures. The edge's own
 * keys are 256 random bits; a configured secret is only as good as whoever
 * typed it, and an admin token like `admin` falls to the first guess. A secret
 * shorter than `MIN_SECRET_CHARS` is refused (never used), with a message that
 * says so, instead of quietly protecting the fleet with a weak value.
 */
export const MIN_SECRET_CHARS = 32;

export type SecretName = 'PORTEN_ADMIN_TOKEN' | 'PORTEN_API_KEY' | 'PORTEN_NODE_KEY';

export type SecretState = { kind: 'unset' } | { kind: 'weak'; message: string } | { kind: 'ok'; value: string };

/** What to do with a configured secret: use it, refuse it as too short, or treat it as absent. */
export function secretState(name: SecretName, value: string | undefined): SecretState {
  if (value === undefined || value === '') return { kind: 'unset' };
  if (value.length < MIN_SECRET_CHARS) return { kind: 'weak', message: weakSecretMessage(name, value.length) };
  return { kind: 'ok', value };
}

export function weakSecretMessage(name: SecretName, length: number): string {
  return (
    `${name} is only ${length} characters long; the edge refuses secrets shorter than ${MIN_SECRET_CHARS} characters. ` +
    `Set a long random value (for example \`openssl rand -base64 32\`).`
  );
}

/** The secret when it is set and strong enough; otherwise undefined (a weak secret never authenticates). */
export function strongSecret(value: string | undefined): string | undefined {
  return value !== undefined && value.length >= MIN_SECRET_CHARS ? value : undefined;
}

const warned = new Set<string>();

/** Logs each configured-but-weak secret once per isolate, so the operator finds out from the logs, not from users. */
export function warnWeakSecrets(env: Partial<Record<SecretName, string>>): void {
  for (const name of ['PORTEN_ADMIN_TOKEN', 'PORTEN_API_KEY', 'PORTEN_NODE_KEY'] as const) {
    const s = secretState(name, env[name]);
    if (s.kind !== 'weak' || warned.has(name)) continue;
    warned.add(name);
    console.error(`porten: ${s.message} It is not used until then.`);
  }
}
