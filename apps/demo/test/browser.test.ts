import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RedisHandle, startRedis } from '@x/testkit';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from './helpers';

// Functions passed to waitForFunction / evaluate run in the page; this file is compiled without
// the DOM lib.
declare const document: {
  getElementById(id: string): {
    textContent: string | null;
    getAttribute(name: string): string | null;
  } | null;
  querySelectorAll(
    selector: string,
  ): ArrayLike<{ textContent: string | null; closest(selector: string): unknown }>;
};

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let context: BrowserContext | undefined;
let profile: string | undefined;
const cleanup: Array<() => Promise<unknown>> = [];

/** Chromium, started on first use (inside a test: a missing browser fails it, saying how to fix). */
async function browser(): Promise<BrowserContext> {
  if (context) return context;
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH).`,
    );
  }
  mkdirSync(OUTPUT, { recursive: true });
  // A fresh profile per run (playwright passes it to Chromium as --user-data-dir).
  profile = mkdtempSync(join(tmpdir(), 'x-demo-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 900 },
    timeout: 30_000,
  });
  return context;
}

afterAll(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Opens the status page of `demo` and waits for its first render. */
async function open(demo: RunningDemo): Promise<Page> {
  const page = await (await browser()).newPage();
  cleanup.push(() => page.close());
  await page.goto(`${demo.url}/`);
  expect(await page.title()).toBe('x demo: status');
  await page.waitForFunction(() => document.getElementById('instance')?.textContent !== '…');
  return page;
}

/** Waits until `#id` reads `expected` (or matches it); returns how long that took. */
async function shows(page: Page, id: string, expected: string | RegExp, timeoutMs = 5_000) {
  const started = Date.now();
  const pattern = typeof expected === 'string' ? `^${escapeRegExp(expected)}$` : expected.source;
  await page.waitForFunction(
    ({ id, pattern }) => new RegExp(pattern).test(document.getElementById(id)?.textContent ?? ''),
    { id, pattern },
    { timeout: timeoutMs, polling: 100 },
  );
  return Date.now() - started;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const classOf = (page: Page, id: string) =>
  page.evaluate((id) => document.getElementById(id)?.getAttribute('class') ?? '', id);
const textOf = async (page: Page, id: string) => (await page.textContent(`#${id}`)) ?? '';
/** Whether the diagnosis banner is shown. */
const bannerShown = async (page: Page) => !(await classOf(page, 'problem')).includes('hidden');

/** Things a person should never see on the page: placeholders and empty values (shown ones). */
async function expectNoPlaceholders(page: Page): Promise<void> {
  const values = await page.evaluate(() =>
    Array.from(document.querySelectorAll('.big, dd, .meta span'))
      .filter((el) => el.closest('.hidden') === null)
      .map((el) => el.textContent),
  );
  for (const value of values) expect(['-', '…', '', 'none']).not.toContain(value?.trim());
}

/**
 * While Redis is unusable the breaker card never reads as "fine": a closed breaker is shown
 * neutral, saying the connection is down; an open one in red.
 */
async function expectBreakerTruthful(page: Page): Promise<void> {
  const state = await textOf(page, 'breaker');
  expect(['closed', 'open', 'half-open']).toContain(state);
  if (state === 'closed') {
    expect(await classOf(page, 'breaker')).toBe('big muted');
    expect(await textOf(page, 'breaker-caption')).toMatch(/connection is down|connecting/);
  } else {
    expect(await classOf(page, 'breaker')).not.toBe('big ok');
  }
}

async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(OUTPUT, name);
  await page.screenshot({ path, fullPage: true });
  expect(statSync(path).size).toBeGreaterThan(10_000);
}

describe('status page in headless Chromium', () => {
  it('memory-only: neutral "no Redis", no diagnosis, no empty sparkline, the last answer', async () => {
    const demo = await startDemo();
    cleanup.push(() => demo.close());
    const page = await open(demo);

    await shows(page, 'backend', 'fallback');
    expect(await textOf(page, 'redis-url')).toBe('not configured (memory only)');
    // The breaker card is neutral, not alarm red.
    expect(await textOf(page, 'breaker')).toBe('no Redis');
    expect(await classOf(page, 'breaker')).toBe('big muted');
    expect(await textOf(page, 'breaker-caption')).toMatch(/memory only/);
    expect(await textOf(page, 'redis-health')).toBe('not configured');
    expect(await classOf(page, 'redis-health')).toBe('big muted');
    // No sparkline box without Redis: a caption instead.
    expect(await classOf(page, 'sparkline')).toContain('hidden');
    expect(await textOf(page, 'sparkline-caption')).toBe('memory only: no Redis to PING');
    expect(await bannerShown(page)).toBe(false);
    expect(await textOf(page, 'last-answer')).toBe('no answer yet');

    await page.click('[data-try="GET /items/42"]');
    await shows(page, 'last-answer', /^source \(/);
    await page.click('[data-try="GET /items/42"]');
    await shows(page, 'last-answer', /^memory \([\d.]+\sms\), (just now|\d+ s ago)$/);
    await shows(page, 'events', /started/);
    await expectNoPlaceholders(page);
    await screenshot(page, 'memory-only.png');

    // A long event wraps inside the list: no horizontal scrollbar, in the list or the page.
    demo.demo.events.emit('note', { text: 'x'.repeat(400) });
    await shows(page, 'events', /note/);
    const overflow = (await page.evaluate(
      `(() => { const list = document.getElementById('events');
        return [list.scrollWidth - list.clientWidth,
          document.documentElement.scrollWidth - window.innerWidth]; })()`,
    )) as [number, number];
    expect(overflow).toEqual([0, 0]);
  });

  let redis: RedisHandle;
  let running: RunningDemo;
  let page: Page;

  it('healthy: primary, breaker closed, PING sparkline, answers from Redis', async () => {
    redis = await startRedis();
    cleanup.push(() => redis.kill());
    running = await startDemo({ redis: redis.url });
    cleanup.push(() => running.close());
    page = await open(running);

    await shows(page, 'backend', 'primary');
    expect(await classOf(page, 'backend')).toBe('big ok');
    await shows(page, 'breaker', 'closed');
    expect(await classOf(page, 'breaker')).toBe('big ok');
    await shows(page, 'redis-health', 'healthy');
    await shows(page, 'sparkline-caption', /^last \d+ PINGs, up to /);
    expect(await page.locator('#sparkline path').count()).toBe(1);
    expect(await bannerShown(page)).toBe(false);

    await page.click('[data-try="GET /items/42"]');
    await shows(page, 'last-answer', /^source \(/);
    await page.click('[data-try="GET /items/42"]');
    await shows(page, 'last-answer', /^redis \(/);
    await shows(page, 'hit-ratio', '50 %');
    await expectNoPlaceholders(page);
    await screenshot(page, 'healthy.png');
  });

  it('outage: Redis killed, fallback, the diagnosis banner (refused); back to primary after', async () => {
    await redis.kill();
    const toFallback = await shows(page, 'backend', 'fallback');
    expect(toFallback).toBeLessThan(5_000);
    expect(await classOf(page, 'backend')).toBe('big warn');
    // The live event list shows the failover (fed by /events).
    await shows(page, 'events', /failover/);
    await shows(page, 'redis-health', /^(degraded|unhealthy)$/);
    await shows(page, 'problem-title', 'Redis is unavailable (refused)');
    expect(await classOf(page, 'problem')).toBe('banner warn');
    expect(await textOf(page, 'problem-message')).toMatch(/ECONNREFUSED|closed/);
    expect(await textOf(page, 'problem-hint')).not.toBe('');
    await expectBreakerTruthful(page);
    await shows(page, 'sparkline-caption', /failed \(red\)/);
    await page.click('[data-try="GET /items/42"]');
    await shows(page, 'last-answer', /^(memory|source) \(/);
    await expectNoPlaceholders(page);
    await screenshot(page, 'outage.png');

    await redis.restart();
    const toPrimary = await shows(page, 'backend', 'primary');
    expect(toPrimary).toBeLessThan(5_000);
    await shows(page, 'events', /recover/);
    await shows(page, 'redis-health', 'healthy');
    await page.waitForFunction(
      () => document.getElementById('problem')?.getAttribute('class')?.includes('hidden') === true,
      undefined,
      { timeout: 5_000, polling: 100 },
    );
  });

  it('misconfigured: a wrong password shows "misconfigured (auth)" with WRONGPASS and the hint', async () => {
    const locked = await startRedis({ password: 'the-right-one' });
    cleanup.push(() => locked.kill());
    const demo = await startDemo({ redis: `redis://:not-the-password@127.0.0.1:${locked.port}` });
    cleanup.push(() => demo.close());
    const misPage = await open(demo);

    await shows(misPage, 'problem-title', 'Redis is misconfigured (auth)');
    expect(await bannerShown(misPage)).toBe(true);
    expect(await classOf(misPage, 'problem')).toBe('banner bad');
    expect(await textOf(misPage, 'problem-message')).toMatch(/^WRONGPASS /);
    expect(await textOf(misPage, 'problem-hint')).toMatch(/REDIS_PASSWORD/);
    expect(await textOf(misPage, 'problem-kind')).toBe('auth');
    expect(await textOf(misPage, 'problem-since')).toMatch(/ago|just now/);
    await shows(misPage, 'backend', 'fallback');
    await expectBreakerTruthful(misPage);
    await shows(misPage, 'redis-health', /^(degraded|unhealthy)$/);
    await shows(misPage, 'sparkline-caption', /^last \d+ PINGs: all failed \(red\)$/);
    expect(await textOf(misPage, 'last-answer')).toBe('no answer yet');
    // Never the raw client text anywhere on the page.
    expect(await misPage.textContent('body')).not.toMatch(/Stream isn't writeable/);
    await expectNoPlaceholders(misPage);
    await screenshot(misPage, 'misconfigured.png');
  });
});
