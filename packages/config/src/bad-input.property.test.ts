import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isConfigError } from './errors.js';
import { ENV_VARS, loadConfig } from './load-config.js';
import { redactConfig } from './redact-config.js';
import { parseRedisUrl } from './redis-url.js';
import { validateConfig } from './validate-config.js';

// Bad input: whatever the environment or URL holds, the outcome is a config or a ConfigError,
// and the password never shows up in anything a service would log.

const NAMES = Object.keys(ENV_VARS);

/**
 * A recognizable password: two random alphanumeric halves around a separator that a user may
 * well leave unencoded in a URL (`#`, `?`, `/`, `@`, `:`, `%`, a space...). The property checks
 * that neither half leaks, so a password cut in two by a URL parser still counts as leaked.
 */
const halfArb = fc.stringMatching(/^[A-Za-z0-9]{8,12}$/).map((s) => `Pw${s}`);
const sepArb = fc.constantFrom(
  '',
  '',
  '-',
  '_',
  '#',
  '?',
  '/',
  '@',
  ':',
  '%',
  '%zz',
  ' ',
  '[',
  ']',
);
const secretArb = fc
  .record({ a: halfArb, sep: sepArb, b: halfArb })
  .map(({ a, sep, b }) => ({ value: `${a}${sep}${b}`, parts: [a, b] }));

type Secret = { value: string; parts: string[] };
const s = (a: string, sep: string, b: string): Secret => ({
  value: `${a}${sep}${b}`,
  parts: [a, b],
});

const garbageArb: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.integer({ min: -100_000, max: 100_000 }).map(String),
  fc.double().map(String),
  fc.constantFrom('true', 'false', 'yes', 'no', 'on', 'off', '1', '0', 'maybe', ' ', '\t'),
  fc.constantFrom('5s', '500ms', '10m', '24h', '1m30s', '-1s', '0', '1e9', 'NaN', 'Infinity'),
  fc.constantFrom('standalone', 'cluster', 'sentinel', 'mymaster', '/etc/passwd', '/nonexistent'),
  fc.constantFrom('127.0.0.1:6379,10.0.0.2:6380', 'h:0', '[::1]:7000', 'a b:1', ',,,', 'x:99999'),
  fc.webUrl(),
  fc.constantFrom('redis://', 'rediss://h', 'redis://h:1/99', 'redis://[::1]', 'http://h'),
);

const envArb = fc.dictionary(
  fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 12 })),
  garbageArb,
  { maxKeys: 12 },
);

/** Ways the password gets into the environment. */
const placementArb = fc.record({
  password: fc.boolean(),
  sentinelPassword: fc.boolean(),
  url: fc.boolean(),
  replicaUrl: fc.boolean(),
  scheme: fc.constantFrom('redis', 'rediss', 'REDIS', 'http'),
  user: fc.constantFrom('', 'admin', 'default'),
  host: fc.constantFrom('cache', '127.0.0.1', '[::1]', '', 'bad host'),
  tail: fc.constantFrom('', ':6379', ':6379/0', ':70000', '/1', '/x', '?db=1', ':1/16'),
});

type Placement = typeof placementArb extends fc.Arbitrary<infer T> ? T : never;

function redisUrl(p: Placement, secret: string): string {
  return `${p.scheme}://${p.user}:${secret}@${p.host}${p.tail}`;
}

/** Throws (with the leaked text) when any part of the secret is in `text`. */
function expectNoLeak(text: string, secret: Secret, where: string): void {
  for (const part of secret.parts) {
    if (text.includes(part)) {
      throw new Error(`password part ${JSON.stringify(part)} leaked in ${where}: ${text}`);
    }
  }
}

/** Runs `fn`: a value is returned as is, a ConfigError is checked for leaks, anything else fails. */
function outcome<T>(fn: () => T, secret: Secret | undefined): T | undefined {
  try {
    return fn();
  } catch (error) {
    if (!isConfigError(error)) {
      throw new Error(`expected a ConfigError, got ${inspect(error)}`);
    }
    expect(error.code).toBe('E_CONFIG');
    expect(error.name).toBe('ConfigError');
    expect(error.message.startsWith('[@x/config] ')).toBe(true);
    expect(error.issues.length).toBeGreaterThan(0);
    if (secret) {
      expectNoLeak(error.message, secret, 'error.message');
      expectNoLeak(JSON.stringify(error.issues), secret, 'error.issues');
      expectNoLeak(String(error), secret, 'String(error)');
      expectNoLeak(inspect(error), secret, 'inspect(error)');
    }
    return undefined;
  }
}

function expectConfigHidesSecret(config: object, secret: Secret): void {
  expectNoLeak(JSON.stringify(config), secret, 'JSON.stringify(config)');
  expectNoLeak(inspect(config, { depth: 5 }), secret, 'inspect(config)');
  expectNoLeak(String(config), secret, 'String(config)');
  expectNoLeak(JSON.stringify(redactConfig(config)), secret, 'redactConfig(config)');
  expectNoLeak(inspect(redactConfig(config), { depth: 5 }), secret, 'inspect(redactConfig)');
}

describe('loadConfig with random environments', () => {
  it('returns a config or throws a ConfigError, never another exception', () => {
    fc.assert(
      fc.property(envArb, (env) => {
        const config = outcome(() => loadConfig({ env }), undefined);
        if (config !== undefined) {
          expect(config.port).toBeGreaterThanOrEqual(1);
          expect(config.port).toBeLessThanOrEqual(65535);
          expect(['standalone', 'sentinel', 'cluster']).toContain(config.mode);
          expect(Object.isFrozen(config)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never leaks the password, whatever else the environment holds', () => {
    fc.assert(
      fc.property(envArb, placementArb, secretArb, (garbage, p, secret) => {
        const env: Record<string, string> = { ...garbage };
        if (p.password) env.REDIS_PASSWORD = secret.value;
        if (p.sentinelPassword) env.REDIS_SENTINEL_PASSWORD = secret.value;
        if (p.url || !(p.password || p.sentinelPassword || p.replicaUrl)) {
          env.REDIS_URL = redisUrl(p, secret.value);
        }
        if (p.replicaUrl) env.REDIS_READ_REPLICA_URLS = redisUrl(p, secret.value);
        const config = outcome(() => loadConfig({ env }), secret);
        if (config !== undefined) {
          expectConfigHidesSecret(config, secret);
          if (p.password) expect(config.password).toBe(secret.value);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never leaks a password given in overrides', () => {
    fc.assert(
      fc.property(envArb, placementArb, secretArb, (env, p, secret) => {
        const overrides = { url: redisUrl(p, secret.value), sentinelPassword: secret.value };
        const config = outcome(() => loadConfig({ env, overrides }), secret);
        if (config !== undefined) expectConfigHidesSecret(config, secret);
      }),
      { numRuns: 200 },
    );
  });
});

/** Mutations of a redis:// URL that carries the password: a char inserted, deleted, replaced. */
const mutatedUrlArb = fc
  .record({
    p: placementArb,
    secret: secretArb,
    edits: fc.array(
      fc.record({
        kind: fc.constantFrom('insert', 'delete', 'replace'),
        at: fc.nat(),
        char: fc.oneof(
          fc.constantFrom('@', ':', '/', '#', '?', '%', '[', ']', ' ', '\n', '\u0000', '\\'),
          fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
        ),
      }),
      { maxLength: 3 },
    ),
  })
  .map(({ p, secret, edits }) => {
    let url = redisUrl(p, secret.value);
    // Edits stay outside the password and the `:` and `@` around it: the password stays
    // recognizable and still marked as one (without them the text holds no credentials to hide,
    // only a user name or a string).
    for (const e of edits) {
      // Protected: the `:` at `colon`, the password, the `@` at `at`.
      const colon = url.indexOf(secret.value) - 1;
      const at = colon + secret.value.length + 1;
      if (e.kind === 'insert') {
        const spots = [...Array(url.length + 1).keys()].filter((i) => i <= colon || i > at);
        const i = spots[e.at % spots.length]!;
        url = url.slice(0, i) + e.char + url.slice(i);
      } else {
        const spots = [...Array(url.length).keys()].filter((i) => i < colon || i > at);
        if (spots.length === 0) continue;
        const i = spots[e.at % spots.length]!;
        url = url.slice(0, i) + (e.kind === 'replace' ? e.char : '') + url.slice(i + 1);
      }
    }
    return { url, secret };
  });

describe('URLs', () => {
  it('parseRedisUrl: a parsed URL or a ConfigError, for any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.webUrl({ withFragments: true, withQueryParameters: true }),
          fc.string(),
          fc.string({ unit: 'binary' }),
        ),
        (url) => {
          const parsed = outcome(() => parseRedisUrl(url), undefined);
          if (parsed !== undefined) {
            expect(parsed.port).toBeGreaterThanOrEqual(1);
            expect(parsed.host).not.toBe('');
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('mutated redis:// URLs with a password: never an exception other than ConfigError, never a leak', () => {
    fc.assert(
      fc.property(mutatedUrlArb, ({ url, secret }) => {
        const parsed = outcome(() => parseRedisUrl(url), secret);
        if (parsed !== undefined) {
          expectNoLeak(JSON.stringify(parsed), secret, 'JSON.stringify(parsed)');
          expectNoLeak(inspect(parsed), secret, 'inspect(parsed)');
          expectNoLeak(String(parsed), secret, 'String(parsed)');
        }
        const config = outcome(() => loadConfig({ env: { REDIS_URL: url } }), secret);
        if (config !== undefined) expectConfigHidesSecret(config, secret);
        const replicas = outcome(
          () => loadConfig({ env: { REDIS_READ_REPLICA_URLS: url, REDIS_READ_REPLICAS: 'true' } }),
          secret,
        );
        if (replicas !== undefined) expectConfigHidesSecret(replicas, secret);
      }),
      {
        numRuns: 1000,
        // Counterexamples found by this property (each leaked the password before the fix).
        examples: [
          [
            {
              url: 'redis://:PwA0aA0aA0/PwA00AaAaA@cache',
              secret: s('PwA0aA0aA0', '/', 'PwA00AaAaA'),
            },
          ],
          [
            {
              url: '@redis://:PwaaAAaaaaPw0a0AAaAa@cache',
              secret: s('PwaaAAaaaa', '', 'Pw0a0AAaAa'),
            },
          ],
          [
            {
              url: 'redis://:PwAAaA00A0#Pwa00a0A0a@cache',
              secret: s('PwAAaA00A0', '#', 'Pwa00a0A0a'),
            },
          ],
          [
            {
              url: 'redis://u:PwAAaA00A0@Pwa00a0A0a@cache',
              secret: s('PwAAaA00A0', '@', 'Pwa00a0A0a'),
            },
          ],
          [
            {
              url: 'redis://d/efault:PwAAaA00A0#Pwa00a0A0a@cache:70000',
              secret: s('PwAAaA00A0', '#', 'Pwa00a0A0a'),
            },
          ],
        ],
      },
    );
  });

  it('a well-formed URL keeps its password exactly (the redaction hides, it does not lose)', () => {
    fc.assert(
      fc.property(halfArb, halfArb, fc.integer({ min: 1, max: 65535 }), (a, b, port) => {
        const secret = `${a}${b}`;
        const config = loadConfig({ env: { REDIS_URL: `redis://u:${secret}@h:${port}/3` } });
        expect(config.password).toBe(secret);
        expect(config.port).toBe(port);
        expect(config.db).toBe(3);
        expectConfigHidesSecret(config, { value: secret, parts: [secret] });
      }),
      { numRuns: 200 },
    );
  });
});

describe('validateConfig', () => {
  const knownKeys = [...new Set(Object.values(ENV_VARS).map((f) => f.replace(/^tls\..*/, 'tls')))];
  const valueArb = fc.oneof(fc.anything(), garbageArb);

  it('never throws, for any input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.dictionary(
            fc.oneof(fc.constantFrom(...knownKeys, 'mode', 'reconnect'), fc.string()),
            valueArb,
            {
              maxKeys: 10,
            },
          ),
        ),
        (input) => {
          const result = validateConfig(input);
          expect(typeof result.ok).toBe('boolean');
          if (!result.ok) {
            expect(result.issues.length).toBeGreaterThan(0);
            for (const issue of result.issues) {
              expect(typeof issue.path).toBe('string');
              expect(typeof issue.message).toBe('string');
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never echoes a password or sentinelPassword of the wrong type or value', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...knownKeys), valueArb, { maxKeys: 8 }),
        secretArb,
        (input, secret) => {
          const result = validateConfig({
            ...input,
            password: secret.value,
            sentinelPassword: secret.value,
          });
          if (result.ok) expectConfigHidesSecret(result.config, secret);
          else expectNoLeak(JSON.stringify(result.issues), secret, 'issues');
        },
      ),
      { numRuns: 300 },
    );
  });
});
