import { fail, type Failure } from '../errors';
import { API_KEY_PREFIX, NODE_KEY_PREFIX, displayPrefix, hashSecret, newId, newSecret, randomToken } from '../tenancy/keys';
import { checkLimits, concurrencyVerdict, quotaPeriod, MINUTE_MS } from '../tenancy/limiter';
import { defaultRecord, effectiveScope, type KeyScope, type NodeRecord } from '../tenancy/eligibility';
import { admitEnrollment } from '../tenancy/enrollment-admission';
import type { Trust } from '../tenancy/trust';
import { decide, effectiveStatus, newEnrollment, newUserCode, normalizeUserCode, poll, type EnrollmentState } from '../tenancy/enrollment';
import { NODE_ID_RE, type Approve, type CreateKey, type CreateNode, type PatchNode, type UsageQuery } from '../tenancy/schemas';
import type { ApiKeyRow, EnrollmentRow, NodeRecordWrite, TenancyStore } from './tenancy-store';

/** Ledger key id of requests made with the bootstrap `PORTEN_API_KEY`. */
export const BOOTSTRAP_KEY_ID = 'bootstrap';

export type KeyView = Omit<ApiKeyRow, 'hash'>;
/** `scope` always carries a `min_trust`: the key's own, else the fleet default (PORTEN_DEFAULT_MIN_TRUST). */
export type Admission = { ok: true; keyId: string; scope: KeyScope };

export interface TenancyOptions {
  /** Seconds between an enrolling agent's polls. */
  intervalS: number;
  /** Minimum trust for keys that set none, the bootstrap key included. */
  defaultMinTrust: Trust;
  /** Whether a source (client key) was rate-limited recently; enrollment evicts such sources' codes first. */
  limited?: (source: string) => boolean;
}
export type NodeAuth = { ok: true; nodeId: string } | Failure;
export type Issued = { ok: true; node_id: string; node_key: string };

/**
 * The Hub's tenancy logic over its tenancy tables: API keys and their limits,
 * node records and keys, enrollments, the usage ledger. Decisions come from the
 * pure modules in src/tenancy; this class only reads and writes rows.
 */
export class Tenancy {
  private readonly intervalS: number;

  constructor(
    private readonly t: TenancyStore,
    private readonly o: TenancyOptions,
  ) {
    this.intervalS = o.intervalS;
  }

  // ------------------------------------------------------------ API keys

  /**
   * Checks a request's key against `model` and its limits. No hash means the
   * bootstrap key: no model, rate or routing limits except the fleet's default
   * minimum trust, which also applies to every key without its own `min_trust`.
   */
  admit(keyHash: string | undefined, model: string, now: number): Admission | Failure {
    if (keyHash === undefined) return { ok: true, keyId: BOOTSTRAP_KEY_ID, scope: effectiveScope(null, this.o.defaultMinTrust) };
    const key = this.t.keyByHash(keyHash);
    if (!key || key.revoked_at !== null) return fail('invalid_api_key', key ? 'This API key was revoked.' : 'Incorrect API key provided.');
    if (key.models && !key.models.includes(model)) {
      return fail('model_not_allowed', `This API key may not use the model '${model}'.`, { param: 'model' });
    }
    const quotaStart = key.quota_period ? quotaPeriod(key.quota_period, now).start : now;
    const verdict = checkLimits(key, this.t.recentUsage(key.id, now - MINUTE_MS), key.quota_tokens ? this.t.tokensSince(key.id, quotaStart) : 0, now);
    if (!verdict.ok) return fail('rate_limited', verdict.message, { retryAfterS: verdict.retryAfterMs / 1000 });
    // The Hub's view: requests whose ledger rows are open (warm ones arrive in batches; the Worker counts its own at once).
    const inflight = concurrencyVerdict(key.max_inflight ?? null, key.max_inflight ? this.t.openUsage(key.id) : 0);
    if (!inflight.ok) return fail('rate_limited', inflight.message, { retryAfterS: inflight.retryAfterMs / 1000 });
    return {
      ok: true,
      keyId: key.id,
      scope: effectiveScope({ regions: key.regions, owner: key.owner, min_trust: key.min_trust }, this.o.defaultMinTrust),
    };
  }

  /** For /v1 calls that do not reach `acquire` (model listings): is the key live, and which models may it see (null: all)? */
  checkKey(keyHash: string): { ok: true; models: string[] | null } | Failure {
    const key = this.t.keyByHash(keyHash);
    if (!key || key.revoked_at !== null) return fail('invalid_api_key', key ? 'This API key was revoked.' : 'Incorrect API key provided.');
    return { ok: true, models: key.models };
  }

  async createKey(input: CreateKey, now: number): Promise<KeyView & { key: string }> {
    const key = newSecret(API_KEY_PREFIX);
    const row: ApiKeyRow = {
      id: newId('key_'),
      name: input.name,
      hash: await hashSecret(key),
      prefix: displayPrefix(key),
      created: Math.floor(now / 1000),
      revoked_at: null,
      models: input.models ?? null,
      regions: input.regions ?? null,
      owner: input.owner ?? null,
      min_trust: input.min_trust ?? null,
      rpm: input.rpm ?? null,
      tpm: input.tpm ?? null,
      quota_tokens: input.quota_tokens ?? null,
      quota_period: input.quota_period ?? null,
      max_inflight: input.max_inflight ?? null,
    };
    this.t.insertKey(row);
    return { ...keyView(row), key };
  }

  listKeys(): KeyView[] {
    return this.t.keys().map(keyView);
  }

  revokeKey(id: string, now: number): boolean {
    return this.t.revokeKey(id, Math.floor(now / 1000));
  }

  // ------------------------------------------------------------ nodes

  record(id: string): NodeRecord {
    return this.t.nodeRecord(id) ?? defaultRecord(id);
  }

  records(): Map<string, NodeRecord> {
    return new Map(this.t.nodeRecords().map((r) => [r.id, r]));
  }

  /**
   * Binds a socket to a node. `keyHash` null means the fleet key, which may
   * name only a node the operator has no record of: not one with its own key
   * (or that had one), not one the operator configured (region, trust, owner,
   * caps), not a revoked one — so the shared fleet key can never take over,
   * or inherit the trust of, a node someone set up. A node key names exactly
   * one node, and a claimed id must match it.
   */
  authNode(keyHash: string | null, claimed: string | null): NodeAuth {
    if (keyHash === null) {
      if (!claimed) return fail('invalid_request', 'With the fleet key, X-Porten-Node-Id is required.', { param: 'x-porten-node-id' });
      const rec = this.t.nodeRecord(claimed);
      if (rec?.revoked) return fail('invalid_api_key', `Node '${claimed}' was revoked by the operator.`);
      if (rec?.key_hash) return fail('forbidden', `Node '${claimed}' has its own node key; the fleet key cannot connect as it.`);
      if (rec) return fail('forbidden', `Node '${claimed}' is configured by the operator; it must connect with its own node key, not the fleet key.`);
      return { ok: true, nodeId: claimed };
    }
    const rec = this.t.nodeRecordByKey(keyHash);
    if (!rec || rec.revoked) return fail('invalid_api_key', 'Incorrect node key provided.');
    if (claimed && claimed !== rec.id) return fail('forbidden', `This node key belongs to '${rec.id}', not '${claimed}'.`, { param: 'x-porten-node-id' });
    return { ok: true, nodeId: rec.id };
  }

  async createNode(input: CreateNode, now: number): Promise<Issued | Failure> {
    const existing = this.t.nodeRecord(input.node_id);
    if (existing?.key_hash)
      return fail('invalid_request', `Node '${input.node_id}' already has a key; revoke it first to issue a new one.`, { param: 'node_id' });
    return this.issue(
      {
        id: input.node_id,
        region: input.region,
        trust: input.trust,
        owner: input.owner ?? null,
        max_budget_mb: input.max_budget_mb ?? null,
        max_concurrency: input.max_concurrency ?? null,
      },
      now,
    );
  }

  /** Null when the node is unknown both as a record and as a connected node. */
  patchNode(id: string, patch: PatchNode, known: boolean, now: number): NodeRecord | null {
    const rec = this.t.nodeRecord(id);
    if (!rec && !known) return null;
    const base = rec ?? { ...defaultRecord(id), key_hash: null };
    if (base.revoked) return base;
    const next: NodeRecordWrite = {
      id,
      key_hash: base.key_hash,
      region: patch.region ?? base.region,
      trust: patch.trust ?? base.trust,
      owner: patch.owner === undefined ? base.owner : patch.owner,
      max_budget_mb: patch.max_budget_mb === undefined ? base.max_budget_mb : patch.max_budget_mb,
      max_concurrency: patch.max_concurrency === undefined ? base.max_concurrency : patch.max_concurrency,
    };
    this.t.putNodeRecord(next, now);
    return this.record(id);
  }

  revokeNode(id: string, now: number): void {
    const rec = this.record(id);
    this.t.revokeNodeRecord(id, rec.region, rec.trust, now);
  }

  private async issue(r: Omit<NodeRecordWrite, 'key_hash'>, now: number): Promise<Issued> {
    const nodeKey = newSecret(NODE_KEY_PREFIX);
    this.t.putNodeRecord({ ...r, key_hash: await hashSecret(nodeKey) }, now);
    return { ok: true, node_id: r.id, node_key: nodeKey };
  }

  // ------------------------------------------------------------ enrollment (RFC 8628)

  /**
   * Starts an enrollment for `source` (the client's throttle key). Per-source
   * and fleet-wide caps on pending codes come from src/tenancy/enrollment-admission.ts:
   * a full set evicts the most suspicious source's oldest code rather than
   * refusing everyone.
   */
  async startEnrollment(
    hostname: string | undefined,
    source: string,
    now: number,
  ): Promise<{ ok: true; device_code: string; user_code: string; expires_in: number; interval: number } | Failure> {
    const admission = admitEnrollment(this.t.pendingList(now), source, this.o.limited);
    if (!admission.ok) return fail('rate_limited', admission.message, { retryAfterS: 60 });
    if (admission.evict) this.t.expireEnrollment(admission.evict, now);
    const state = newEnrollment(now, this.intervalS);
    const deviceCode = randomToken(32);
    let userCode = newUserCode();
    while (this.t.enrollment(userCode)) userCode = newUserCode();
    this.t.insertEnrollment({
      user_code: userCode,
      device_hash: await hashSecret(deviceCode),
      created: now,
      expires_at: state.expiresAt,
      interval_s: state.intervalS,
      last_poll_at: null,
      status: 'pending',
      claimed_at: null,
      hostname: hostname?.slice(0, 255) ?? null,
      node_id: null,
      region: null,
      trust: null,
      owner: null,
      source,
    });
    return { ok: true, device_code: deviceCode, user_code: userCode, expires_in: Math.round((state.expiresAt - now) / 1000), interval: state.intervalS };
  }

  async pollEnrollment(deviceCode: string, now: number): Promise<Issued | Failure> {
    const row = this.t.enrollmentByDevice(await hashSecret(deviceCode));
    if (!row) return fail('invalid_request', 'Unknown device_code.', { param: 'device_code' });
    const result = poll(stateOf(row), now);
    this.t.updateEnrollment(withState(row, result.next));
    if (result.kind === 'error') return fail(result.error, result.message);
    const id = row.node_id!;
    if (this.t.nodeRecord(id)?.key_hash) return fail('access_denied', `Node id '${id}' was taken before this enrollment completed.`);
    return this.issue(
      { id, region: row.region ?? 'default', trust: row.trust ?? 'community', owner: row.owner, max_budget_mb: null, max_concurrency: null },
      now,
    );
  }

  listEnrollments(now: number) {
    return this.t.enrollments().map((e) => ({
      user_code: e.user_code,
      created: Math.floor(e.created / 1000),
      expires_at: Math.floor(e.expires_at / 1000),
      status: effectiveStatus(stateOf(e), now),
      hostname: e.hostname,
    }));
  }

  decideEnrollment(
    userCode: string,
    decision: 'approve' | 'deny',
    approve: Approve | null,
    now: number,
  ): { ok: true; user_code: string; status: string } | Failure {
    const code = normalizeUserCode(userCode);
    const row = code ? this.t.enrollment(code) : null;
    if (!row) return fail('not_found', `No enrollment with user code '${userCode}'.`, { param: 'user_code' });
    const result = decide(stateOf(row), decision, now);
    if (!result.ok) return fail('invalid_request', result.message, { param: 'user_code' });
    const next = withState(row, result.next);
    if (decision === 'approve' && approve) {
      const nodeId = approve.node_id ?? this.freeNodeId(row.hostname);
      if (this.t.nodeRecord(nodeId)?.key_hash)
        return fail('invalid_request', `Node id '${nodeId}' already has a key; revoke it first or choose another node_id.`, { param: 'node_id' });
      Object.assign(next, { node_id: nodeId, region: approve.region, trust: approve.trust, owner: approve.owner ?? null });
    }
    this.t.updateEnrollment(next);
    return { ok: true, user_code: row.user_code, status: next.status };
  }

  /** The hostname the agent reported, when it is a valid and unused node id; else a random one. */
  private freeNodeId(hostname: string | null): string {
    if (hostname && NODE_ID_RE.test(hostname) && !this.t.nodeRecord(hostname)?.key_hash) return hostname;
    return `node-${randomToken(6)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')}`;
  }

  // ------------------------------------------------------------ usage ledger

  begin(keyId: string, model: string, now: number): number {
    return this.t.beginUsage(keyId, model, now);
  }

  leased(usageId: number, nodeId: string): void {
    this.t.setUsageNode(usageId, nodeId);
  }

  end(usageId: number, usage: { prompt_tokens: number; completion_tokens: number } | undefined, outcome: 'ok' | 'error' | 'cancelled', now: number): boolean {
    return this.t.endUsage(usageId, usage?.prompt_tokens ?? 0, usage?.completion_tokens ?? 0, outcome, now);
  }

  usage(q: UsageQuery, now: number) {
    const bucketMs = q.bucket === 'hour' ? 3_600_000 : 86_400_000;
    const since = q.since ?? now - 7 * 86_400_000;
    return this.t.usageGroups(q.group_by, bucketMs, since).map((r) => ({ ...r, bucket: new Date(r.bucket).toISOString() }));
  }
}

function keyView(k: ApiKeyRow): KeyView {
  const { hash: _hash, ...view } = k;
  return view;
}

function stateOf(e: EnrollmentRow): EnrollmentState {
  return { status: e.status, expiresAt: e.expires_at, intervalS: e.interval_s, lastPollAt: e.last_poll_at, claimedAt: e.claimed_at };
}

function withState(e: EnrollmentRow, s: EnrollmentState): EnrollmentRow {
  return { ...e, status: s.status, interval_s: s.intervalS, last_poll_at: s.lastPollAt, claimed_at: s.claimedAt };
}
