import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { opensslBin } from './_internal/binaries';
import type { TlsFiles } from './types';

let cached: TlsFiles | undefined;

/**
 * A throwaway certificate authority and a certificate it signed for `127.0.0.1` / `localhost`
 * (usable as server and client certificate), generated with openssl once per test process.
 */
export function createTlsFiles(): TlsFiles {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'x-testkit-tls-'));
  const openssl = opensslBin();
  const run = (args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: 'pipe' });
  run(['genrsa', '-out', 'ca.key', '2048']);
  run([
    'req',
    '-x509',
    '-new',
    '-nodes',
    '-key',
    'ca.key',
    '-sha256',
    '-days',
    '2',
    '-subj',
    '/CN=x-testkit-ca',
    '-out',
    'ca.crt',
  ]);
  run(['genrsa', '-out', 'server.key', '2048']);
  run(['req', '-new', '-key', 'server.key', '-subj', '/CN=127.0.0.1', '-out', 'server.csr']);
  writeFileSync(
    join(dir, 'ext.cnf'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    'ext.cnf',
  ]);
  cached = {
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
  };
  return cached;
}
