import { describe, expect, it } from 'vitest';
import { localText, registerSecret, sanitizeFrame, wireMessage } from '../../nodes/agent/sanitize';
import { PUBLIC_MESSAGE_MAX, publicMessage, redactSecrets } from '../../src/security/sanitize';

const SHA = 'ead208c631f77fbef1fc2f14a3ae9dfae61a45af9ff6cb915cdb87ca94aa2aee';

describe('redactSecrets (the node owner’s log)', () => {
  it.each([
    ['URL credentials', 'cannot reach origin https://ada:hunter2@weights.internal/m.gguf', 'https://[redacted]@weights.internal/m.gguf'],
    [
      'signed-URL query strings',
      'GET https://bucket.s3.amazonaws.com/m.gguf?X-Amz-Signature=abc123&X-Amz-Expires=60 failed',
      'https://bucket.s3.amazonaws.com/m.gguf?[redacted]',
    ],
    ['bearer tokens', 'sent Authorization: Bearer hf_abcdefghijklmnop', 'Bearer [redacted]'],
    ['porten keys', 'key nk-porten-AbCdEf0123456789_-xyz was refused', 'key [redacted] was refused'],
    ['Hugging Face tokens', 'HF says hf_AbCdEfGhIjKlMnOp is invalid', 'HF says [redacted] is invalid'],
    ['key=value secrets', 'upstream said api_key=s3cr3t&x=1', 'api_key=[redacted]'],
  ])('removes %s', (_what, input, expected) => expect(redactSecrets(input)).toContain(expected));

  it('keeps what the owner needs: paths, hosts, digests, statuses', () => {
    const text = `/home/ada/.porten/models/demo.gguf: sha256 mismatch: expected ${SHA}, origin http://10.0.0.5:8080 answered 404`;
    expect(redactSecrets(text)).toBe(text);
  });

  it('redacts values the caller names as secret wherever they appear', () => {
    expect(redactSecrets('token is plain-secret-value-123 here', ['plain-secret-value-123'])).toBe('token is [redacted] here');
  });
});

describe('publicMessage (anything a client can read)', () => {
  it.each([
    ['a credentialed, signed weights URL', 'origin answered HTTP 403 for https://ada:hunter2@cdn.example/m.gguf?sig=abc', 'origin answered HTTP 403 for [url]'],
    [
      'an internal origin',
      'cannot reach origin http://127.0.0.1:39117/demo-small.gguf: connect ECONNREFUSED 127.0.0.1:39117',
      'cannot reach origin [url]: connect ECONNREFUSED [address]',
    ],
    ['file paths', `/home/ada/.porten/models/demo-small.gguf: sha256 mismatch: expected ${SHA}`, `[path]: sha256 mismatch: expected ${SHA}`],
    ['disk paths in prose', 'not enough disk space in /srv/porten/models: need 5 bytes, 1 free', 'not enough disk space in [path]: need 5 bytes, 1 free'],
    ['Windows paths', 'cannot open C:\\Users\\ada\\models\\m.gguf', 'cannot open [path]'],
    ['home paths', 'cannot read ~/.porten/credentials.json', 'cannot read [path]'],
    ['host:port pairs', 'upstream vllm.lan.internal:8000 refused', 'upstream [address] refused'],
    ['long opaque tokens', 'token 0123456789abcdefghijklmnopqrstuvwxyzABCD leaked', 'token [redacted] leaked'],
  ])('hides %s', (_what, input, expected) => expect(publicMessage(input)).toBe(expected));

  it('keeps only the first line: engine stderr below it never reaches a client', () => {
    expect(publicMessage('engine exited with code 1\nllama_model_load: /home/ada/m.gguf: invalid magic\nstack trace…')).toBe('engine exited with code 1');
  });

  it('caps the length, strips control characters, and falls back when nothing is left', () => {
    expect(publicMessage('word '.repeat(2000)).length).toBe(PUBLIC_MESSAGE_MAX);
    expect(publicMessage('\u001b[31mred\u001b[0m')).toBe('[31mred[0m');
    expect(publicMessage('\n\n', 'load failed')).toBe('load failed');
    expect(publicMessage(undefined, 'load failed')).toBe('load failed');
  });
});

describe('the agent’s sanitizer', () => {
  it('drops engine stderr and keeps the supervisor’s summary on the wire', () => {
    expect(wireMessage('engine_failed', 'engine exited with code 1: error loading model /home/ada/m.gguf')).toBe('engine exited with code 1');
    expect(wireMessage('engine_failed', 'engine not ready after 60 s: ggml_init failed')).toBe('engine not ready after 60 s');
    expect(wireMessage('engine_failed', 'engine answered 500: {"error":"CUDA out of memory at /opt/x.cu:12"}')).toBe('engine answered 500');
    expect(wireMessage('engine_failed', 'RPC worker 10.0.0.7:50052 is unreachable (engine exited with signal SIGABRT: , task.n_tokens = 12) (x)')).toBe(
      'RPC worker [address] is unreachable (engine exited with signal SIGABRT)',
    );
  });

  it('redacts registered secrets locally and on the wire', () => {
    registerSecret('nk-not-prefixed-secret-0001');
    expect(localText('using nk-not-prefixed-secret-0001 now')).toBe('using [redacted] now');
    expect(wireMessage('internal', 'using nk-not-prefixed-secret-0001 now')).toBe('using [redacted] now');
  });

  it('sanitizes every error-bearing frame and passes others through untouched', () => {
    const failed = sanitizeFrame({
      type: 'model.state',
      model: 'm',
      phase: 'failed',
      error: { code: 'download_failed', message: 'origin answered HTTP 404 for https://u:p@h/x.gguf?sig=1' },
    });
    expect(failed).toMatchObject({ error: { code: 'download_failed', message: 'origin answered HTTP 404 for [url]' } });
    expect(
      sanitizeFrame({ type: 'infer.error', id: 'r1', code: 'engine_failed', message: 'engine unreachable: connect ECONNREFUSED 127.0.0.1:1' }),
    ).toMatchObject({
      message: 'engine unreachable',
    });
    const chunk = { type: 'infer.chunk', id: 'r1', seq: 0, data: 'data: https://u:p@h/?sig=1\n\n' } as const;
    expect(sanitizeFrame(chunk)).toBe(chunk);
  });
});
