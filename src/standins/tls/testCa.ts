/**
 * A throw-away certificate authority and a server certificate for 127.0.0.1 / localhost, made with
 * openssl at test time (nothing is checked in). Clients trust the CA explicitly — through the
 * SDK's `tlsOptions: { ca }` in-process, or NODE_EXTRA_CA_CERTS for a child process — so no code
 * ever turns TLS verification off.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestTls {
  /** PEM of the CA to trust. */
  readonly ca: string;
  /** Server certificate (SAN: IP 127.0.0.1, DNS localhost) and its key, PEM. */
  readonly cert: string;
  readonly key: string;
  /** A file holding the CA, for NODE_EXTRA_CA_CERTS. */
  readonly caFile: string;
}

let cached: TestTls | undefined;

/** The process's test TLS material, generated on first use (about 0.1 s) and removed at exit. */
export function testTls(): TestTls {
  cached ??= generate();
  return cached;
}

function generate(): TestTls {
  const dir = mkdtempSync(join(tmpdir(), 'dp-test-ca-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=durable-pipelines test CA', '-keyout', file('ca.key'), '-out', file('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=localhost', '-keyout', file('server.key'), '-out', file('server.csr'));
  writeFileSync(file('server.ext'), [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ].join('\n'));
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
    '-CAcreateserial', '-days', '2', '-extfile', file('server.ext'), '-out', file('server.pem'));

  return {
    ca: readFileSync(file('ca.pem'), 'utf8'),
    cert: readFileSync(file('server.pem'), 'utf8'),
    key: readFileSync(file('server.key'), 'utf8'),
    caFile: file('ca.pem'),
  };
}
