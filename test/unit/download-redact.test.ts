import { describe, expect, it } from 'vitest';
import { logLine } from '../../nodes/agent/log';
import { DownloadError } from '../../nodes/download/errors';
import { redactText, redactUrl } from '../../nodes/download/redact';
import { partUrls, splitOf } from '../../nodes/download/split';

describe('redact', () => {
  it.each([
    ['a signed CDN URL keeps host and path', 'https://cdn-lfs.hf.co/repos/ab/cd/e?X-Amz-Signature=abc&Expires=1', 'https://cdn-lfs.hf.co/repos/ab/cd/e?…'],
    ['userinfo goes', 'https://user:pass@origin.example:8443/w/m.gguf', 'https://origin.example:8443/w/m.gguf'],
    ['a fragment goes', 'http://h/p#token=x', 'http://h/p#…'],
    ['a plain URL stays', 'http://127.0.0.1:9/m.gguf', 'http://127.0.0.1:9/m.gguf'],
    ['not a URL stays', 'model.gguf', 'model.gguf'],
  ])('%s', (_n, url, want) => {
    expect(redactUrl(url)).toBe(want);
    expect(redactUrl(want)).toBe(want); // idempotent
  });

  it('redacts every URL, bearer token and HF token in free text, and nothing else', () => {
    const text =
      'giving up at bytes 0-9: GET https://a:b@cdn.example/x?sig=1 failed (see "https://h/p?q=2"); Authorization: Bearer abc.def-ghi; token hf_abcdefghijklmnopqrstuvwxyz0123 refused';
    const out = redactText(text);
    expect(out).toBe('giving up at bytes 0-9: GET https://cdn.example/x?… failed (see "https://h/p?…"); Authorization: Bearer …; token hf_… refused');
    expect(redactText(out)).toBe(out);
  });

  it('DownloadError messages are redacted at construction', () => {
    const e = new DownloadError('download_failed', 'origin answered HTTP 403 for https://cdn.example/f?X-Amz-Signature=deadbeef');
    expect(e.message).toBe('origin answered HTTP 403 for https://cdn.example/f?…');
  });

  it("the agent's JSON-lines log redacts its message and every string field, and keeps the rest", () => {
    const line = logLine(
      'warn',
      'agent',
      'engine unreachable at http://u:p@10.0.0.5:8000/v1',
      {
        error: 'GET https://cdn.example/f?X-Amz-Signature=1 failed; Bearer abcdef0123',
        status: 403,
        model: 'qwen',
        token: 'hf_abcdefghijklmnopqrstuvwxyz0123',
      },
      new Date(0),
    );
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({
      t: '1970-01-01T00:00:00.000Z',
      level: 'warn',
      scope: 'agent',
      // The node owner's own log (src/security/sanitize.ts redactSecrets): host, port and path stay readable.
      msg: 'engine unreachable at http://[redacted]@10.0.0.5:8000/v1',
      error: 'GET https://cdn.example/f?[redacted] failed; Bearer [redacted]',
      status: 403,
      model: 'qwen',
      token: '[redacted]',
    });
  });
});

describe('split GGUF names', () => {
  it.each([
    ['model-00001-of-00003.gguf', { prefix: 'model', index: 1, count: 3 }],
    ['a-b-00003-of-00003.gguf', { prefix: 'a-b', index: 3, count: 3 }],
    ['model.gguf', null],
    ['model-00004-of-00003.gguf', null],
    ['model-00001-of-00001.gguf', null],
  ])('%s', (name, want) => expect(splitOf(name)).toEqual(want));

  it('a reference to the first part expands to every part, keeping a revision or query', () => {
    expect(partUrls('hf://o/r/m-00001-of-00002.gguf@v2')).toEqual(['hf://o/r/m-00001-of-00002.gguf@v2', 'hf://o/r/m-00002-of-00002.gguf@v2']);
    expect(partUrls('https://h/m-00001-of-00002.gguf?x=1')).toEqual(['https://h/m-00001-of-00002.gguf?x=1', 'https://h/m-00002-of-00002.gguf?x=1']);
    expect(partUrls('https://h/m.gguf')).toEqual(['https://h/m.gguf']);
    expect(() => partUrls('hf://o/r/m-00002-of-00002.gguf')).toThrow(/must name its first part/);
  });
});
