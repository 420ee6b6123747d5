import { MAX_BODY_BYTES, MAX_JSON_DEPTH } from '../../src/api/body';
import { ERROR_CODES, type ErrorCode } from '../../src/errors';
import { ENDPOINTS, type Endpoint } from './endpoints';
import { fieldTable, jsonSchemaOf } from './schema-md';

/**
 * docs/api.md, whole: written by `npm run docs`, compared by test/unit/docs-generated.test.ts. The request shapes
 * come from the zod schemas the Worker validates with, the status and type of each error from src/errors.ts;
 * only the prose below is written here, once.
 */

/** When each error code is returned. Typed against the code map: a new code without a line here fails typecheck. */
const ERROR_WHEN = {
  invalid_request: 'The body is not JSON, fails its schema (`param` names the field), or names a field porten does not support.',
  capability_not_supported: 'The model lacks what the request needs (tools, JSON mode, images, embeddings, chat); decided before any load.',
  invalid_api_key: 'No bearer token, or not one this edge knows (also a revoked key, and a wrong admin or node key).',
  model_not_allowed: "The model is outside the managed key's allow-list (on inference; listings simply omit it).",
  model_not_found: 'No such model, or it is disabled.',
  not_found: 'No such route, or no such key, node or enrollment.',
  method_not_allowed: 'A known path with the wrong method.',
  request_too_large: `A body over ${MAX_BODY_BYTES / 1024 / 1024} MiB (also when \`Content-Length\` understates it).`,
  rate_limited:
    "The key's `rpm`, `tpm` or token quota is used up, or a client address spent its budget for unauthenticated work (enrollment, the warming view, wrong admin tokens or node keys); `Retry-After` says when to come back.",
  internal_error: 'A bug: logged with the request; the message never carries details.',
  upstream_error:
    'The node failed before the first byte (engine error, node gone); after the first byte a stream ends with an in-band `data: {"error":…}` event instead.',
  queue_full:
    "The model's wait queue is at its bound (catalog `queue_max`, else `PORTEN_QUEUE_MAX`, default 64); `Retry-After` is the warm-up's ETA, or 2 s for a ready model. Unlike `rate_limited`, not the key's doing.",
  model_warming: 'The model is still downloading or loading after the warm-up budget; `Retry-After` comes from the ETA. The load goes on, a retry joins it.',
  no_available_node: "No connected node can serve the model within the key's restrictions (region, owner, trust) or its memory; `Retry-After`.",
  admin_disabled: 'The admin API is off because no `PORTEN_ADMIN_TOKEN` secret is set, or because it is shorter than 32 characters.',
  server_misconfigured: 'The key presented is the configured `PORTEN_API_KEY` or `PORTEN_NODE_KEY`, which is shorter than 32 characters and therefore refused.',
  forbidden:
    'A node key presented for another node id (`X-Porten-Node-Id`), or the fleet key presented for a node that has its own key or that the operator configured.',
  authorization_pending: 'Enrollment polling: not approved yet (RFC 8628 name).',
  slow_down: 'Enrollment polling: too fast; add 5 s to the interval (RFC 8628 name).',
  access_denied: 'Enrollment polling: an operator denied it (RFC 8628 name).',
  expired_token: 'Enrollment polling: the code expired (10 minutes) or was already exchanged (RFC 8628 name).',
} satisfies Record<ErrorCode, string>;

const AUTH_TEXT: Record<Endpoint['auth'], string> = {
  none: 'none',
  'api key': 'API key',
  'admin token': 'admin token',
  'node key': 'node key',
  'live ticket': 'ticket',
};

const anchor = (name: string) => name.toLowerCase();

function endpointsTable(): string {
  const rows = ENDPOINTS.map((e) => {
    const shape = e.body ? ` Body: [\`${e.body.name}\`](#${anchor(e.body.name)}).` : '';
    const query = typeof e.query === 'string' ? ` Query: ${e.query}` : e.query ? ` Query: [\`${e.query.name}\`](#${anchor(e.query.name)}).` : '';
    return `| \`${e.method} ${e.path}\` | ${AUTH_TEXT[e.auth]} | ${e.summary.replace(/\|/g, '\\|')}${shape}${query} |`;
  });
  return ['| endpoint | auth | what it does |', '| --- | --- | --- |', ...rows].join('\n');
}

function schemaSections(): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of ENDPOINTS) {
    for (const s of [e.body, typeof e.query === 'object' ? e.query : undefined]) {
      if (!s || seen.has(s.name)) continue;
      seen.add(s.name);
      const users = ENDPOINTS.filter((x) => x.body?.name === s.name || (typeof x.query === 'object' && x.query.name === s.name));
      const where = users.map((u) => `\`${u.method} ${u.path}\``).join(', ');
      out.push(
        `### ${s.name}\n\n${s === e.body ? 'Body' : 'Query'} of ${where}.\n\n${fieldTable(s.schema)}\n` +
          `JSON Schema (input side, from \`z.toJSONSchema\`):\n\n\`\`\`json\n${JSON.stringify(jsonSchemaOf(s.schema), null, 2)}\n\`\`\`\n`,
      );
    }
  }
  return out.join('\n');
}

function errorsTable(): string {
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[])
    .sort((a, b) => ERROR_CODES[a].status - ERROR_CODES[b].status || a.localeCompare(b))
    .map((code) => `| \`${code}\` | ${ERROR_CODES[code].status} | \`${ERROR_CODES[code].type}\` | ${ERROR_WHEN[code].replace(/\|/g, '\\|')} |`);
  return ['| code | status | type | when |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export function apiPage(): string {
  return `# API reference

Every endpoint of a porten edge, the request bodies it validates and the errors it returns. This page is generated by \`npm run docs\` from the zod schemas the Worker validates with (\`src/api/\`, \`src/tenancy/schemas.ts\`, \`src/hub/catalog.ts\`) and from the error map in \`src/errors.ts\`; a test fails when it falls behind them. How porten treats each OpenAI parameter is in [Compatibility](compatibility.md); first steps with curl and the SDK are in [Getting started](getting-started.md).

## Conventions

- **Base URL**: your edge, e.g. \`http://127.0.0.1:8787\` under \`npm start\`; OpenAI SDKs take \`<edge>/v1\` as \`baseURL\`.
- **Authentication**: \`Authorization: Bearer <token>\`. \`/v1/*\` takes an API key (a managed \`sk-porten-…\` key, or the bootstrap \`PORTEN_API_KEY\`); \`/admin/v1/*\` the admin token (\`PORTEN_ADMIN_TOKEN\`); \`/agent/v1/connect\` a node key.
- **Validation**: bodies are JSON, at most ${MAX_BODY_BYTES / 1024 / 1024} MiB and ${MAX_JSON_DEPTH} levels deep. Schemas are strict: a field porten does not support is a \`400 invalid_request\` whose \`param\` names it, never silently dropped.
- **Errors** always have OpenAI's shape, \`{"error":{"message","type","param","code"}}\`, with a \`code\` from the closed map below.
- **Warm-up**: a request for a model that is not loaded waits up to \`X-Porten-Warmup-Budget: <seconds>\` (default \`PORTEN_WARMUP_BUDGET_S\`, 300) while a node downloads and loads it, then gets \`503 model_warming\` with \`Retry-After\`. A stream gets its headers at once and a comment line (\`: warming downloading 45% 30/66 MB eta 4s\`) every 4 s meanwhile.
- **Every accepted request ends in exactly one way**: a complete body (streams end with \`data: [DONE]\`), an HTTP error before the first byte, or, once a stream has started, an in-band \`data: {"error":…}\` event and the end of the stream.
- **Timing**: responses relayed from a node carry \`Server-Timing: hub;dur=…, node;dur=…\`.

## Endpoints

${endpointsTable()}

## Request bodies and queries

${schemaSections()}
## Errors

${errorsTable()}
`;
}
