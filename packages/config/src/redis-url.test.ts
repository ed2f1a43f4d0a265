import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { parseRedisUrl } from './redis-url.js';

describe('parseRedisUrl', () => {
  it('parses host, port, credentials and db', () => {
    const parsed = parseRedisUrl('redis://app:s3cr%40t@cache.internal:6380/4');
    expect({ ...parsed }).toEqual({
      tls: false,
      host: 'cache.internal',
      port: 6380,
      username: 'app',
      password: 's3cr@t',
      db: 4,
    });
  });

  it('defaults the port, reads rediss:// as TLS, password-only and IPv6', () => {
    expect({ ...parseRedisUrl('rediss://:pw@example.com') }).toEqual({
      tls: true,
      host: 'example.com',
      port: 6379,
      username: undefined,
      password: 'pw',
      db: undefined,
    });
    expect(parseRedisUrl('redis://[::1]:7000').host).toBe('::1');
    expect(parseRedisUrl('redis://h/').db).toBeUndefined();
  });

  it('hides the password from JSON, String and inspect', () => {
    const parsed = parseRedisUrl('redis://u:hunter2@h:1/0');
    expect(JSON.stringify(parsed)).not.toContain('hunter2');
    expect(JSON.parse(JSON.stringify(parsed)).password).toBe('***');
    expect(String(parsed)).not.toContain('hunter2');
    expect(inspect(parsed)).not.toContain('hunter2');
    expect(inspect(parsed)).toContain('***');
  });

  it.each([
    ['http://h:1', /unsupported scheme "http:"/],
    ['redis://', /invalid URL|missing host/],
    ['redis://h:99999', /invalid URL|port must be/],
    ['redis://h:1/abc', /db must be a non-negative integer/],
    ['not a url', /invalid URL "not a url"/],
  ])('rejects %s', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(ConfigError);
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it('never shows the password of a bad URL', () => {
    let caught: unknown;
    try {
      parseRedisUrl('redis://admin:topsecret@host:1/xyz');
    } catch (error) {
      caught = error;
    }
    const error = caught as ConfigError;
    expect(error.message).toContain('redis://admin:***@host:1/xyz');
    expect(error.message).not.toContain('topsecret');
    expect(JSON.stringify(error.issues)).not.toContain('topsecret');
    expect(error.issues[0]!.path).toBe('url');
  });
});
