import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  readmeExample,
  sleep,
  startFailingRedis,
  startRedis,
  waitFor,
  withAdmin,
} from '@x/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV_VARS, loadConfig } from './load-config.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
const example = readmeExample(packageDir);

function visits(stdout: string): number[] {
  return [...stdout.matchAll(/^visits (\d+)$/gm)].map((m) => Number(m[1]));
}

async function authCalls(port: number): Promise<number> {
  const info = await withAdmin(port, (c) => c.info('commandstats'));
  return Number(/cmdstat_auth:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

describe.concurrent('README quick start', () => {
  it('reads REDIS_URL, logs the config redacted and round-trips a value', async ({ expect }) => {
    const redis = await startRedis({ password: 'secret' });
    const code = example.code;
    expect(code).toContain('loadConfig()');
    const result = await example.run({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT: '1s' });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('redis config');
    expect(result.stdout).toContain("password: '***'");
    expect(result.stdout).toContain('commandTimeoutMs: 1000');
    expect(result.stdout).not.toContain('secret');
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('hello');
    const client = new Redis(redis.url);
    try {
      expect(await client.get('greeting')).toBe('hello');
    } finally {
      client.disconnect();
    }
  });

  it('without Redis: prints what happened and what to check, exits 1', async ({ expect }) => {
    const { server: redis } = await startFailingRedis('refused');
    const t0 = performance.now();
    // An example that never ends is killed after 15 s (exitCode null).
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(1);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(result.stdout).toContain('redis config');
    expect(result.stdout).not.toContain('hello');
    expect(result.stderr.trim()).toBe(
      `[@x/config] Redis at 127.0.0.1:${redis.port} is not ready after 1000 ms (reconnecting); the last connection attempt failed: connect ECONNREFUSED 127.0.0.1:${redis.port} (nothing accepts connections at 127.0.0.1:${redis.port}: start Redis there, or fix the host and port (REDIS_URL, REDIS_HOST, REDIS_PORT))`,
    );
  });

  it('with a wrong password: says so at once, exits 1', async ({ expect }) => {
    const redis = await startFailingRedis('wrong-password');
    const t0 = performance.now();
    const result = await example.run({ REDIS_URL: redis.url });
    expect(result.exitCode, result.stderr).toBe(1);
    // At once, not after the 1 s deadline (tsx start-up included).
    expect(performance.now() - t0).toBeLessThan(8_000);
    expect(result.stderr).toContain('WRONGPASS invalid username-password pair');
    expect(result.stderr).toContain('check REDIS_USERNAME / REDIS_PASSWORD');
    expect(result.stderr + result.stdout).not.toContain('wrong@');
  });

  it('type-checks as written', async ({ expect }) => {
    const result = await example.typecheck();
    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});

describe('README environment variables: every documented example loads', () => {
  // `NAME=value` assignments of the table's example column (one backtick span per example) and
  // of the sh block under "Lists of addresses" (one line per example).
  const table = readme.slice(readme.indexOf('| variable | field | default | example |'));
  const rows = table
    .slice(0, table.indexOf('\n\n'))
    .split('\n')
    .slice(2)
    .map((row) =>
      row
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  const documented = new Set(rows.flatMap((cells) => cells[0]!.match(/REDIS_[A-Z_]+/g) ?? []));
  const examples: string[] = rows.flatMap((cells) =>
    [...(cells[3] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!),
  );
  const lists = readme.slice(readme.indexOf('### Lists of addresses'));
  const sh = /^```sh\n([\s\S]*?)^```$/m.exec(lists)![1]!;
  examples.push(...sh.split('\n').filter((line) => line.trim() !== ''));
  const parse = (text: string): Record<string, string> =>
    Object.fromEntries(
      text.split(/\s+/).map((pair) => {
        const eq = pair.indexOf('=');
        return [pair.slice(0, eq), pair.slice(eq + 1)];
      }),
    );

  let cwd: string;
  let dir: string;
  beforeAll(() => {
    // The TLS examples name files relative to the working directory.
    cwd = process.cwd();
    dir = mkdtempSync(join(tmpdir(), 'x-config-readme-'));
    mkdirSync(join(dir, 'certs'));
    for (const file of ['ca.pem', 'client.pem', 'client.key']) {
      writeFileSync(join(dir, 'certs', file), 'PEM');
    }
    process.chdir(dir);
  });
  afterAll(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('documents every variable, each in at least one example', () => {
    const used = new Set(examples.flatMap((e) => Object.keys(parse(e))));
    for (const name of Object.keys(ENV_VARS)) {
      expect(documented, name).toContain(name);
      expect(used, name).toContain(name);
    }
    expect(examples).toContain(
      'REDIS_CLUSTER_MODE=true REDIS_CLUSTER_NODES=redis://node1:6379,redis://node2:6379',
    );
  });

  it.each(examples)('%s', (text) => {
    const env = parse(text);
    for (const name of Object.keys(env)) expect(Object.keys(ENV_VARS), name).toContain(name);
    const config = loadConfig({ env });
    // Every variable of the example is read: without it the result differs (or is invalid).
    for (const name of Object.keys(env)) {
      const { [name]: _removed, ...rest } = env;
      let without: unknown;
      try {
        without = { ...loadConfig({ env: rest }) };
      } catch {
        without = 'invalid';
      }
      expect(without, `${name} in ${text}`).not.toEqual({ ...config });
    }
  });

  it('the list examples mean what the README says', () => {
    expect(
      loadConfig({
        env: parse(
          'REDIS_CLUSTER_MODE=true REDIS_CLUSTER_NODES=rediss://app:s3cret@node1:6380,rediss://app:s3cret@node2:6380',
        ),
      }),
    ).toMatchObject({
      clusterNodes: [
        { host: 'node1', port: 6380 },
        { host: 'node2', port: 6380 },
      ],
      username: 'app',
      password: 's3cret',
      tls: { skipVerify: false },
    });
    expect(
      loadConfig({
        env: parse(
          'REDIS_SENTINELS=redis://:sentinel-pw@s1:26379,redis://:sentinel-pw@s2 REDIS_SENTINEL_NAME=mymaster',
        ),
      }),
    ).toMatchObject({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      sentinelPassword: 'sentinel-pw',
      password: undefined,
    });
  });
});

describe('README rotating credentials: the examples run as written', () => {
  const tokenExample = readmeExample(packageDir, 'Example: a short-lived signed token (IAM style)');
  const aclExample = readmeExample(packageDir, 'Example: ACL password rotation');

  it('both type-check', async () => {
    expect((await tokenExample.typecheck()).output).toBe('');
    expect((await aclExample.typecheck()).output).toBe('');
  }, 40_000);

  it('signed tokens: re-authenticates before each token expires, reconnects with a new token', async () => {
    const server = await startRedis();
    const secret = 'readme-secret';
    const lifetimeMs = 1_000;
    const token = (expiresAt: number): string =>
      `${expiresAt}.${createHmac('sha256', secret).update(`app:${expiresAt}`).digest('base64url')}`;
    // The issuer's side: the server accepts exactly the tokens that have not expired (and the
    // next window's, so that a token signed at a window's edge is known in time).
    const issue = async (): Promise<void> => {
      const k = Math.floor(Date.now() / lifetimeMs);
      const valid = [k + 1, k + 2, k + 3].map((w) => `>${token(w * lifetimeMs)}`);
      await withAdmin(server.port, (c) =>
        c.call('ACL', 'SETUSER', 'app', 'on', 'resetpass', ...valid, '~*', '&*', '+@all'),
      );
    };
    await issue();
    const issuer = setInterval(() => void issue().catch(() => {}), 100);
    try {
      await tokenExample.whileRunning(
        {
          REDIS_URL: `redis://127.0.0.1:${server.port}`,
          REDIS_TOKEN_USER: 'app',
          REDIS_TOKEN_SECRET: secret,
          REDIS_TOKEN_LIFETIME_MS: String(lifetimeMs),
        },
        async (run) => {
          await waitFor('the first visit', () => visits(run.stdout()).length > 0, {
            timeoutMs: 20_000,
          });
          await sleep(2_500);
          const killed = await withAdmin(server.port, (c) =>
            c.call('CLIENT', 'KILL', 'USER', 'app'),
          );
          expect(killed).toBe(1);
          await sleep(2_500);
          const stdout = run.stdout();
          const seen = visits(stdout);
          expect(seen.length, stdout + run.stderr()).toBeGreaterThanOrEqual(5);
          expect(seen).toEqual(seen.map((_, i) => seen[0]! + i));
          const refreshes = stdout.match(/^re-authenticated 1 connection\(s\) until \S+Z$/gm) ?? [];
          expect(refreshes.length, stdout).toBeGreaterThanOrEqual(2);
          // A command that met the killed connection may say so; nothing is about credentials.
          for (const line of run.stderr().split('\n').filter(Boolean)) {
            expect(line).toMatch(
              /not connected to Redis at .* the connection was lost|Connection is closed/,
            );
          }
          if (process.env.SHOW_README_OUTPUT)
            console.log(run.stdout(), '\n--stderr--\n', run.stderr());
          expect(await run.stop()).toBe(0);
        },
      );
    } finally {
      clearInterval(issuer);
    }
  }, 40_000);

  it('ACL rotation: every 200 ms a new password, connections killed, calls keep succeeding', async () => {
    const server = await startRedis({ user: { name: 'app', password: 'p0' } });
    const secrets = mkdtempSync(join(tmpdir(), 'x-config-secret-'));
    const passwordFile = join(secrets, 'redis-password');
    writeFileSync(passwordFile, 'p0\n');
    let n = 0;
    // The secrets manager: add the new password, publish it (atomic rename), then drop the one
    // before the previous.
    const rotate = async (): Promise<void> => {
      n += 1;
      await withAdmin(server.port, (c) => c.call('ACL', 'SETUSER', 'app', `>p${n}`));
      writeFileSync(`${passwordFile}.tmp`, `p${n}\n`);
      renameSync(`${passwordFile}.tmp`, passwordFile);
      if (n >= 2)
        await withAdmin(server.port, (c) => c.call('ACL', 'SETUSER', 'app', `<p${n - 2}`));
    };
    const rotator = setInterval(() => void rotate().catch(() => {}), 200);
    const before = await authCalls(server.port);
    try {
      await aclExample.whileRunning(
        {
          REDIS_URL: `redis://127.0.0.1:${server.port}`,
          REDIS_USERNAME: 'app',
          REDIS_PASSWORD_FILE: passwordFile,
          REDIS_CREDENTIALS_REFRESH: '300ms',
        },
        async (run) => {
          await waitFor('the first visit', () => visits(run.stdout()).length > 0, {
            timeoutMs: 20_000,
          });
          await sleep(2_000);
          expect(await withAdmin(server.port, (c) => c.call('CLIENT', 'KILL', 'USER', 'app'))).toBe(
            1,
          );
          await sleep(2_000);
          const seen = visits(run.stdout());
          expect(seen.length, run.stdout() + run.stderr()).toBeGreaterThanOrEqual(5);
          expect(seen).toEqual(seen.map((_, i) => seen[0]! + i));
          for (const line of run.stderr().split('\n').filter(Boolean)) {
            expect(line).toMatch(
              /not connected to Redis at .* the connection was lost|Connection is closed/,
            );
          }
          // About 20 rotations are planned; a loaded machine runs fewer.
          expect(n).toBeGreaterThanOrEqual(8);
          // Connects and re-authentications: far more AUTHs than the two connections made.
          expect((await authCalls(server.port)) - before).toBeGreaterThanOrEqual(6);
          if (process.env.SHOW_README_OUTPUT)
            console.log(run.stdout(), '\n--stderr--\n', run.stderr());
          expect(await run.stop()).toBe(0);
        },
      );
    } finally {
      clearInterval(rotator);
      rmSync(secrets, { recursive: true, force: true });
    }
  }, 40_000);
});
