// The floor benchmark's node (bench/floor.ts): a process that dials the bare Durable Object over a WebSocket and
// answers each request frame at once with the instant engine's answer, built in place, in one frame (a stream's events
// all together). No agent, no engine hop, no protocol checks: the least any design with a socket per node could do.
import WebSocket from 'ws';

const ws = new WebSocket(process.argv[2], { perMessageDeflate: false });
ws.on('message', (data) => {
  const { id, body } = JSON.parse(String(data));
  const req = JSON.parse(body);
  const n = Math.max(1, Math.min(100_000, req.max_tokens ?? 20));
  const seed = req.seed ?? 0;
  const content = Array.from({ length: n }, (_, i) => `t${(i + seed) % 997} `).join('');
  const base = { id: 'chatcmpl-instant', created: 0, model: req.model ?? 'instant' };
  if (req.stream) {
    const events = Array.from({ length: n }, (_, i) => {
      const chunk = { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: `t${(i + seed) % 997} ` }, finish_reason: null }] };
      return `data: ${JSON.stringify(chunk)}\n\n`;
    });
    ws.send(JSON.stringify({ id, type: 'text/event-stream', body: `${events.join('')}data: [DONE]\n\n` }));
    return;
  }
  const answer = {
    ...base,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'length' }],
    usage: { prompt_tokens: 1, completion_tokens: n, total_tokens: n + 1 },
  };
  ws.send(JSON.stringify({ id, type: 'application/json', body: JSON.stringify(answer) }));
});
ws.on('open', () => process.stdout.write('open\n'));
ws.on('close', () => process.exit(0));
ws.on('error', (err) => {
  process.stderr.write(`floor peer: ${err.message}\n`);
  process.exit(1);
});
