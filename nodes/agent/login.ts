import * as z from 'zod';
import { writeCredentials } from './credentials';

/** RFC 8628 §3.2 device authorization response. */
const StartSchema = z.object({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: z.string(),
  verification_uri_complete: z.string().optional(),
  expires_in: z.number().positive(),
  interval: z.number().int().positive().default(5),
});
const IssuedSchema = z.object({ node_id: z.string().min(1), node_key: z.string().min(1) });
const ErrorSchema = z.object({ error: z.object({ code: z.string().nullable().optional(), message: z.string().optional() }) });

export interface LoginOptions {
  edgeUrl: string;
  credentialsPath: string;
  hostname: string;
  out: (line: string) => void;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * `porten login`: asks the edge for a device code, shows the user code and the
 * approval URL, and polls until an operator approves or denies, honouring
 * `interval` and `slow_down` (RFC 8628 §3.5). On approval the node key is
 * written to the credentials file (0600). Returns the process exit code:
 * 0 enrolled, 1 denied, expired or failed.
 */
export async function login(o: LoginOptions): Promise<number> {
  const http = o.fetch ?? fetch;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const post = (path: string, body: unknown) =>
    http(`${o.edgeUrl}/agent/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  let start: z.infer<typeof StartSchema>;
  try {
    const res = await post('/enroll', { hostname: o.hostname });
    const parsed = StartSchema.safeParse(await res.json().catch(() => null));
    if (!res.ok || !parsed.success) {
      o.out(`porten: the edge refused to start an enrollment (HTTP ${res.status})`);
      return 1;
    }
    start = parsed.data;
  } catch (err) {
    o.out(`porten: cannot reach ${o.edgeUrl}: ${(err as Error).message}`);
    return 1;
  }

  o.out('To enroll this node, open this page and approve it:');
  o.out(`  ${start.verification_uri_complete ?? start.verification_uri}`);
  o.out(`and check that it shows the code: ${start.user_code}`);
  o.out(`Waiting for approval (the code expires in ${Math.round(start.expires_in / 60)} min)…`);

  let intervalS = start.interval;
  const deadline = Date.now() + start.expires_in * 1000;
  while (Date.now() < deadline) {
    await sleep(intervalS * 1000);
    let res: Response;
    try {
      res = await post('/enroll/token', { device_code: start.device_code, grant_type: 'urn:ietf:params:oauth:grant-type:device_code' });
    } catch {
      continue; // A network blip: poll again at the same pace until the code expires.
    }
    const body: unknown = await res.json().catch(() => null);
    if (res.ok) {
      const issued = IssuedSchema.safeParse(body);
      if (!issued.success) {
        o.out('porten: the edge answered the enrollment with an unexpected body');
        return 1;
      }
      writeCredentials(o.credentialsPath, { edge: o.edgeUrl, node_id: issued.data.node_id, node_key: issued.data.node_key });
      o.out(`Enrolled as node ${issued.data.node_id}; credentials saved to ${o.credentialsPath}`);
      o.out('Start serving with: porten run');
      return 0;
    }
    const code = ErrorSchema.safeParse(body).data?.error.code;
    if (code === 'authorization_pending') continue;
    if (code === 'slow_down') {
      intervalS += 5;
      continue;
    }
    if (code === 'access_denied') o.out('porten: the operator denied this enrollment');
    else if (code === 'expired_token') o.out('porten: the enrollment code expired; run `porten login` again');
    else o.out(`porten: enrollment failed (HTTP ${res.status}${code ? `, ${code}` : ''})`);
    return 1;
  }
  o.out('porten: the enrollment code expired; run `porten login` again');
  return 1;
}
