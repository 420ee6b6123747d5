import { api } from './api.js';

/**
 * The dashboard's live feed: gets a short-lived ticket with the admin token
 * (browsers cannot put an Authorization header on a WebSocket), opens
 * /admin/v1/live and reports `changed` topics. Reconnects with capped,
 * jittered backoff; every (re)connect asks for a full refresh, since notices
 * sent while disconnected are lost.
 * @param {{token: string, onChange: (topics: string[]) => void, onState: (state: string, detail?: string) => void}} opts
 * @returns {() => void} stops the feed
 */
export function connectLive({ token, onChange, onState }) {
  let ws = null;
  let stopped = false;
  let attempt = 0;
  let retryTimer = null;
  let pingTimer = null;

  const retry = (detail) => {
    clearInterval(pingTimer);
    if (stopped) return;
    onState('reconnecting', detail);
    const wait = Math.min(15_000, 500 * 2 ** attempt++) * (0.5 + Math.random() / 2);
    retryTimer = setTimeout(open, wait);
  };

  async function open() {
    if (stopped) return;
    const t = await api('/admin/v1/live-ticket', { token, method: 'POST' });
    if (stopped) return;
    if (!t.ok) {
      // A wrong token will not fix itself: stop and say why.
      if (t.status === 401 || t.status === 503) return onState('off', t.message);
      return retry(t.message);
    }
    const url = new URL(`/admin/v1/live?ticket=${encodeURIComponent(t.data.ticket)}`, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(url);
    ws.onopen = () => {
      attempt = 0;
      onState('live');
      onChange(['all']);
      // Answered by the Hub's runtime without waking it; keeps proxies from closing an idle socket.
      pingTimer = setInterval(() => ws?.readyState === WebSocket.OPEN && ws.send('ping'), 30_000);
    };
    ws.onmessage = (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      if (msg?.type === 'changed' && Array.isArray(msg.topics)) onChange(msg.topics);
    };
    ws.onclose = () => {
      ws = null;
      retry('connection closed');
    };
  }

  void open();
  return () => {
    stopped = true;
    clearTimeout(retryTimer);
    clearInterval(pingTimer);
    ws?.close(1000, 'bye');
    onState('off');
  };
}
