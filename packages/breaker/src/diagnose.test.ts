import { describe, expect, it } from 'vitest';
import { diagnoseRedisError as diagnose } from './diagnose.js';
import { GuardTimeoutError } from './errors.js';

const err = (message: string, extra: object = {}): Error =>
  Object.assign(new Error(message), extra);

describe('diagnose', () => {
  const ctx = { address: '10.0.0.5:6379', timeoutMs: 250, db: 3 };
  it.each([
    [
      err('WRONGPASS invalid username-password pair or user is disabled.'),
      'auth',
      /REDIS_PASSWORD/,
    ],
    [err('Ready check failed: NOAUTH Authentication required.'), 'auth', /requires a password/],
    [
      err("NOPERM this user has no permissions to run the 'evalsha' command"),
      'permission',
      /ACL SETUSER/,
    ],
    [
      err('DENIED Redis is running in protected mode because protected mode is enabled'),
      'permission',
      /protected mode/,
    ],
    [err('MOVED 12182 127.0.0.1:7001'), 'mode-mismatch', /Cluster client/],
    [
      err('Failed to refresh slots cache.', {
        lastNodeError: err('ERR This instance has cluster support disabled'),
      }),
      'mode-mismatch',
      /not part of a Cluster/,
    ],
    [err('ERR DB index is out of range'), 'mode-mismatch', /db 3/],
    [err('ERR SELECT is not allowed in cluster mode'), 'mode-mismatch', /only db 0/],
    [
      err('self-signed certificate in certificate chain', { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
      'tls',
      /CA/,
    ],
    [
      err('Hostname/IP does not match', { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }),
      'tls',
      /SERVERNAME/,
    ],
    [err('getaddrinfo ENOTFOUND redis.internal', { code: 'ENOTFOUND' }), 'dns', /does not resolve/],
    [
      err('connect ECONNREFUSED 10.0.0.5:6379', { code: 'ECONNREFUSED' }),
      'refused',
      /10\.0\.0\.5:6379/,
    ],
    [err('read ECONNRESET', { code: 'ECONNRESET' }), 'refused', /dropped the connection/],
    [err('connect ETIMEDOUT', { code: 'ETIMEDOUT' }), 'timeout', /within 250 ms/],
    [new GuardTimeoutError(250), 'timeout', /frozen/],
    [err("READONLY You can't write against a read only replica."), 'readonly', /primary/],
    [err('LOADING Redis is loading the dataset in memory'), 'loading', /loading/],
    [err("OOM command not allowed when used memory > 'maxmemory'."), 'oom', /maxmemory-policy/],
    [err('the provider threw', { code: 'E_CREDENTIALS_PROVIDER' }), 'auth', /credentials provider/],
    [err('WRONGPASS invalid', { code: 'E_CREDENTIALS_REJECTED' }), 'auth', /provider returned/],
    [
      err('not connected to Redis: the last attempt failed: wrong version number', {
        code: 'E_REDIS_NOT_CONNECTED',
        cause: err('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' }),
      }),
      'refused',
      /nothing accepts/,
    ],
  ])('%s → %s', (error, kind, hint) => {
    const found = diagnose(error, ctx);
    expect(found?.kind).toBe(kind);
    expect(found?.hint).toMatch(hint);
    expect(found?.misconfiguration).toBe(
      ['auth', 'permission', 'tls', 'dns', 'mode-mismatch'].includes(kind),
    );
  });

  it('keeps the server words (without the trailing period)', () => {
    expect(
      diagnose(err('WRONGPASS invalid username-password pair or user is disabled.'))?.message,
    ).toBe('WRONGPASS invalid username-password pair or user is disabled');
  });

  it.each([
    err('WRONGTYPE Operation against a key holding the wrong kind of value'),
    err('NOSCRIPT No matching script. Please use EVAL.'),
    err("Stream isn't writeable and enableOfflineQueue options is false"),
    err('Connection is closed.'),
    err("ERR wrong number of arguments for 'get' command"),
    undefined,
    null,
    42,
  ])('says nothing about %s', (error) => {
    expect(diagnose(error)).toBeUndefined();
  });

  it('prefers the precise reason anywhere in the chain over a generic one', () => {
    const slots = err('Failed to refresh slots cache.', {
      lastNodeError: err('ERR This instance has cluster support disabled'),
    });
    expect(diagnose(slots)).toMatchObject({
      kind: 'mode-mismatch',
      message: 'ERR This instance has cluster support disabled',
    });
    expect(diagnose(err('Failed to refresh slots cache.'))?.kind).toBe('refused');
  });

  it('a DNS server that did not answer is not a misconfiguration', () => {
    expect(diagnose(err('getaddrinfo EAI_AGAIN redis', { code: 'EAI_AGAIN' }))).toMatchObject({
      kind: 'dns',
      misconfiguration: false,
    });
  });

  it('words the NOPERM hint for the handshake or for a command', () => {
    const noperm = err("NOPERM this user has no permissions to run the 'info' command");
    expect(diagnose(noperm, { phase: 'connect' })?.hint).toMatch(/when it connects/);
    expect(diagnose(noperm)?.hint).toMatch(/ACL SETUSER/);
  });
});
