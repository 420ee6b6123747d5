import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

export interface TestCa {
  /** PEM file of the CA: give it to NODE_EXTRA_CA_CERTS, curl --cacert, or tls.setDefaultCACertificates */
  caFile: string;
  caPem: string;
  /** a server key and certificate signed by the CA, valid for localhost and 127.0.0.1 */
  key: string;
  cert: string;
  cleanup(): void;
}

/**
 * A throwaway certificate authority and a server certificate it signed, made with `openssl` at run
 * time (never committed): local TLS origins for tests and benchmarks that clients verify properly,
 * as they would a real CDN, instead of turning verification off.
 */
export function makeTestCa(): TestCa {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'porten-ca-'));
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ecKey = (out: string) => ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f(out)];
  ssl('req', '-x509', ...ecKey('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=porten test CA');
  ssl('req', ...ecKey('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(f('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.pem'),
    '-days',
    '2',
    '-extfile',
    f('ext.cnf'),
  );
  return {
    caFile: f('ca.pem'),
    caPem: readFileSync(f('ca.pem'), 'utf8'),
    key: readFileSync(f('server.key'), 'utf8'),
    cert: readFileSync(f('server.pem'), 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// Node 24 has these (tls.getCACertificates, tls.setDefaultCACertificates); @types/node 20 does not know them yet.
const t = tls as typeof tls & { getCACertificates(type: 'default'): string[]; setDefaultCACertificates(certs: string[]): void };

/**
 * Trusts `caPem` in this process, in addition to the default CAs (what NODE_EXTRA_CA_CERTS does for a
 * process at start); returns the function that undoes it. TLS verification stays on.
 */
export function trustCa(caPem: string): () => void {
  const before = t.getCACertificates('default');
  t.setDefaultCACertificates([...before, caPem]);
  return () => t.setDefaultCACertificates(before);
}
