import { expect, it } from 'vitest';
import {
  expectRateLimitHeaders,
  get,
  json,
  post,
  type RunningDemo,
  readEvents,
  sessionCookie,
} from './helpers';
import { promtoolCheck, sample } from './promtool';

/** What differs between a run with Redis and one without. */
export interface Expected {
  /** Where a cache hit comes from. */
  hit: 'redis' | 'memory';
  backend: 'primary' | 'fallback';
  lockMode: 'redis' | 'single-instance';
  /** Where rate-limit decisions are made. */
  rateLimitSource: 'redis' | 'local';
  /** How events reach the SSE stream. */
  via: 'redis' | 'local';
}

/**
 * The HTTP tests of every route, run once against a demo with a real Redis and once against one
 * with no Redis (see the two test files). `running()` returns the started demo.
 */
export function defineRouteTests(running: () => RunningDemo, expected: Expected): void {
  it('GET /items/:id loads from the slow source once, then answers from the cache', async () => {
    const { url, demo } = running();
    const loadsBefore = demo.source.loads;
    const first = await get(`${url}/items/widget-1`);
    expect(first.status).toBe(200);
    expectRateLimitHeaders(first);
    const a = await json(first);
    expect(a.from).toBe('source');
    expect(first.headers.get('x-cache')).toBe('source');
    expect(a.tookMs).toBeGreaterThanOrEqual(55);
    expect(a.item).toMatchObject({ id: 'widget-1', name: 'Item widget-1' });
    expect(a.backend).toBe(expected.backend);

    const second = await get(`${url}/items/widget-1`);
    const b = await json(second);
    expect(b.from).toBe(expected.hit);
    expect(second.headers.get('x-cache')).toBe(expected.hit);
    expect(b.tookMs).toBeLessThan(55);
    expect(b.item).toEqual(a.item);
    expect(demo.source.loads).toBe(loadsBefore + 1);
  });

  it('GET /items/:id rejects a malformed id with 400', async () => {
    const res = await get(`${running().url}/items/${encodeURIComponent('no spaces!')}`);
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('bad_request');
  });

  it('POST /login, GET /me, GET /sessions, POST /logout, POST /logout-everywhere', async () => {
    const { url } = running();
    const wrong = await post(`${url}/login`, { username: 'alice', password: 'nope' });
    expect(wrong.status).toBe(401);
    expect((await json(wrong)).error).toBe('invalid_credentials');
    expect((await post(`${url}/login`, { username: 'alice' })).status).toBe(400);

    const login = await post(`${url}/login`, { username: 'alice', password: 'demo' });
    expect(login.status).toBe(200);
    expectRateLimitHeaders(login);
    expect((await json(login)).user).toBe('alice');
    const setCookie = login.headers.getSetCookie().find((c) => c.startsWith('sid='))!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Path=\//);
    const laptop = sessionCookie(login);

    const me = await get(`${url}/me`, laptop);
    expect(me.status).toBe(200);
    expectRateLimitHeaders(me);
    expect((await json(me)).user).toBe('alice');
    expect((await get(`${url}/me`)).status).toBe(401);
    expect((await get(`${url}/me`, 'sid=forged-value')).status).toBe(401);

    const phone = sessionCookie(
      await post(`${url}/login`, { username: 'alice', password: 'demo' }),
    );
    expect(phone).not.toBe(laptop);
    const list = await get(`${url}/sessions`, laptop);
    expect(list.status).toBe(200);
    expectRateLimitHeaders(list);
    const sessions = (await json(list)).sessions as Array<{ id: string; current: boolean }>;
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    // Only a masked prefix of an id is ever shown.
    for (const s of sessions) expect(s.id).toMatch(/^.{8}…$/);

    const logout = await post(`${url}/logout`, undefined, phone);
    expect(logout.status).toBe(200);
    expectRateLimitHeaders(logout);
    expect(await json(logout)).toMatchObject({ loggedOut: true, user: 'alice' });
    expect(logout.headers.getSetCookie().join()).toMatch(/sid=;/);
    expect((await get(`${url}/me`, phone)).status).toBe(401);
    expect((await json(await get(`${url}/sessions`, laptop))).sessions).toHaveLength(1);

    const tablet = sessionCookie(
      await post(`${url}/login`, { username: 'alice', password: 'demo' }),
    );
    const bob = sessionCookie(await post(`${url}/login`, { username: 'bob', password: 'demo' }));
    const everywhere = await post(`${url}/logout-everywhere`, undefined, laptop);
    expect(everywhere.status).toBe(200);
    expectRateLimitHeaders(everywhere);
    expect(await json(everywhere)).toMatchObject({ user: 'alice', destroyed: 2 });
    expect((await get(`${url}/me`, laptop)).status).toBe(401);
    expect((await get(`${url}/me`, tablet)).status).toBe(401);
    // Another user's session is untouched.
    expect((await json(await get(`${url}/me`, bob))).user).toBe('bob');
    expect((await post(`${url}/logout-everywhere`)).status).toBe(401);
  });

  it('POST /jobs/report returns a fencing token; a concurrent call gets 409', async () => {
    const { url } = running();
    const [a, b] = await Promise.all([post(`${url}/jobs/report`), post(`${url}/jobs/report`)]);
    const [done, busy] = a.status === 200 ? [a, b] : [b, a];
    expect(done.status).toBe(200);
    expect(busy.status).toBe(409);
    expectRateLimitHeaders(done);
    expectRateLimitHeaders(busy);
    const first = await json(done);
    expect(first).toMatchObject({ job: 'report', status: 'done', lockMode: expected.lockMode });
    expect(Number.isInteger(first.fencingToken)).toBe(true);
    expect(first.fencingToken).toBeGreaterThan(0);
    const conflict = await json(busy);
    expect(conflict.error).toBe('job_already_running');
    expect(conflict.message).toMatch(/already running/);

    const again = await post(`${url}/jobs/report`);
    expect(again.status).toBe(200);
    expect((await json(again)).fencingToken).toBeGreaterThan(first.fencingToken);
  });

  it('GET /events streams events (a login shows up live)', async () => {
    const { url } = running();
    const seen = await readEvents(
      url,
      (e) => e.type === 'login' && e.data.user === 'carol',
      5_000,
      () => post(`${url}/login`, { username: 'carol', password: 'demo' }),
    );
    // Recent events are replayed first: the start-up event is there.
    expect(seen[0]?.type).toBe('started');
    const login = seen.at(-1)!;
    expect(login.via).toBe(expected.via);
    expect(login.seq).toBeGreaterThan(seen[0]!.seq);
  });

  it('GET /health/live and GET /health/ready', async () => {
    const { url } = running();
    const live = await get(`${url}/health/live`);
    expect(live.status).toBe(200);
    expectRateLimitHeaders(live);
    expect((await json(live)).status).toBe('ok');
    const ready = await get(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expectRateLimitHeaders(ready);
    expect((await json(ready)).ready).toBe(true);
  });

  it('GET /metrics: @x/otel through the Prometheus exporter, valid for promtool', async () => {
    const { url } = running();
    await get(`${url}/items/metrics-1`);
    await get(`${url}/items/metrics-1`);
    const res = await get(`${url}/metrics`);
    expect(res.status).toBe(200);
    expectRateLimitHeaders(res);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const check = await promtoolCheck(text);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);

    // Every package is followed by @x/otel (its stats() read at this scrape).
    for (const pkg of ['@x/hybrid-client', '@x/ratelimit', '@x/session']) {
      expect(sample(text, 'x_instances', { x_package: pkg })).toBeGreaterThanOrEqual(1);
    }
    expect(
      sample(text, 'x_hybrid_backend', {
        x_package: '@x/hybrid-client',
        x_state: expected.backend,
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'x_ratelimit_decisions_total', {
        x_source: expected.rateLimitSource,
        x_outcome: 'allowed',
      }),
    ).toBeGreaterThan(0);
    // The demo's own metric, through the same meter provider.
    expect(sample(text, 'demo_items_served_total', { from: 'source' })).toBeGreaterThan(0);
    expect(sample(text, 'demo_items_served_total', { from: expected.hit })).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE x_breaker_state gauge$/m);
    expect(text).toMatch(/^# TYPE x_fallback_served_total counter$/m);
    expect(text).toMatch(/^# TYPE db_client_operation_duration histogram$/m);
  });

  it('answers an unknown route with 404 in the same JSON shape as every other error', async () => {
    const { url } = running();
    const res = await get(`${url}/no/such/route?x=1`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expectRateLimitHeaders(res);
    const body = await json(res);
    expect(Object.keys(body).sort()).toEqual(['error', 'message']);
    expect(body.error).toBe('not_found');
    expect(body.message).toContain('GET /no/such/route');
    // The same shape as a 400 and a 401.
    const bad = await json(await get(`${url}/items/${encodeURIComponent('no spaces!')}`));
    const unauthorized = await json(await get(`${url}/me`));
    for (const other of [bad, unauthorized]) {
      expect(Object.keys(other).sort()).toEqual(['error', 'message']);
    }
  });

  it('GET /status (JSON) and GET / (the live page)', async () => {
    const { url } = running();
    const res = await get(`${url}/status`);
    expect(res.status).toBe(200);
    expectRateLimitHeaders(res);
    const status = await json(res);
    expect(status.activeBackend).toBe(expected.backend);
    expect(status.redis.configured).toBe(expected.backend === 'primary');
    expect(status.counters.rateLimitAllowed).toBeGreaterThan(0);
    expect(status.cache.hitRatio).toBeGreaterThan(0);
    expect(status.cache.lastAnswer.from).toMatch(/^(redis|memory|source)$/);
    expect(status.cache.lastAnswer.ageMs).toBeGreaterThanOrEqual(0);
    expect(status.events.length).toBeGreaterThan(0);
    expect(status.modes.locks).toMatch(expected.lockMode === 'redis' ? /Redis/ : /single-instance/);

    const page = await get(`${url}/`);
    expect(page.status).toBe(200);
    expectRateLimitHeaders(page);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('id="backend"');
    expect(html).toContain("fetch('/status'");
  });

  it('answers 429 with Retry-After once a client exceeds its limit', async () => {
    const { url } = running();
    // The login policy (30 per minute in these tests) is the strictest: use it up.
    let res = await post(`${url}/login`, { username: 'mallory', password: 'guess' });
    let remaining = Number(res.headers.get('ratelimit-remaining'));
    expect(res.headers.get('ratelimit-limit')).toBe('30');
    for (let i = 0; i < 40 && remaining > 0; i++) {
      res = await post(`${url}/login`, { username: 'mallory', password: 'guess' });
      expect(res.status).toBe(401);
      remaining = Number(res.headers.get('ratelimit-remaining'));
    }
    expect(remaining).toBe(0);
    const limited = await post(`${url}/login`, { username: 'mallory', password: 'demo' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('ratelimit-limit')).toBe('30');
    const body = await json(limited);
    expect(body).toMatchObject({
      error: 'rate_limited',
      policy: 'auth',
      source: expected.rateLimitSource,
    });
    expect(body.message).toMatch(/limit 30 per 60 s/);
    expect(body.retryAfterMs).toBeGreaterThan(0);
    // Other policies are separate: the status page still answers.
    expect((await get(`${url}/status`)).status).toBe(200);
    // Give the login quota back for the tests that follow.
    // (Without Redis the reset reports Redis unavailable, but the local state is reset.)
    // (@fastify/rate-limit keys by client IP; the limiter adds its own prefix.)
    await running()
      .demo.rateLimiters.auth.reset('127.0.0.1')
      .catch(() => undefined);
    expect((await post(`${url}/login`, { username: 'mallory', password: 'demo' })).status).toBe(
      200,
    );
  });
}
