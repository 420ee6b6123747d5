import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface NetworkTrap {
  /** `http://127.0.0.1:PORT`, to pass as HTTP(S)_PROXY. */
  url: string;
  /** Every destination a client tried to reach through the proxy (`host:port` for CONNECT, the URL otherwise). */
  attempts: string[];
  /** Proxy variables that route everything but loopback into the trap (Bun and Node 24 both honour them). */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * A forward proxy that refuses everything and writes down what was asked. The
 * client tests run third-party CLIs (OpenCode, Continue) with their proxy
 * variables pointing here, so any attempt to reach the internet (update checks,
 * telemetry, model lists) fails at once with 403 instead of hanging on a network
 * that is not there, and the test can name the attempt.
 */
export async function startNetworkTrap(): Promise<NetworkTrap> {
  const attempts: string[] = [];
  const server = http.createServer((req, res) => {
    attempts.push(req.url ?? '?');
    res.writeHead(403, { 'content-type': 'text/plain' }).end('porten client tests: no network access');
  });
  server.on('connect', (req, socket) => {
    attempts.push(req.url ?? '?');
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const noProxy = '127.0.0.1,localhost,::1';
  return {
    url,
    attempts,
    env: {
      HTTP_PROXY: url,
      HTTPS_PROXY: url,
      http_proxy: url,
      https_proxy: url,
      NO_PROXY: noProxy,
      no_proxy: noProxy,
      NODE_USE_ENV_PROXY: '1',
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
