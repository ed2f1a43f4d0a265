import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RedisHandle, startRedis } from '@x/testkit';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from './helpers';

// Functions passed to waitForFunction run in the page; this file is compiled without the DOM lib.
declare const document: { getElementById(id: string): { textContent: string | null } | null };

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

let redis: RedisHandle;
let running: RunningDemo | undefined;
let context: BrowserContext | undefined;
let profile: string | undefined;

/** Starts Redis, the demo and Chromium (inside the test: a missing browser fails the test). */
async function setUp(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH).`,
    );
  }
  mkdirSync(OUTPUT, { recursive: true });
  redis = await startRedis();
  running = await startDemo({ redis: redis.url });
  // A fresh profile per run (playwright passes it to Chromium as --user-data-dir).
  profile = mkdtempSync(join(tmpdir(), 'x-demo-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 900 },
    timeout: 30_000,
  });
}

afterAll(async () => {
  await context?.close();
  await running?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function backendShows(page: Page, value: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await page.waitForFunction(
    (expected) => document.getElementById('backend')?.textContent === expected,
    value,
    { timeout: timeoutMs, polling: 100 },
  );
  return Date.now() - started;
}

describe('status page in headless Chromium', () => {
  it('shows primary, then fallback when Redis dies, then primary again when it is back', async () => {
    await setUp();
    const page = await context!.newPage();
    await page.goto(`${running!.url}/`);
    expect(await page.title()).toBe('x demo: status');

    await backendShows(page, 'primary', 5_000);
    expect(await page.textContent('#breaker')).toBe('closed');
    await page.waitForFunction(
      () => document.getElementById('redis-health')?.textContent === 'healthy',
    );
    // Generate a little traffic so the cache card has numbers.
    await page.click('[data-try="GET /items/42"]');
    await page.click('[data-try="GET /items/42"]');
    await page.waitForFunction(() =>
      document.getElementById('last-answer')?.textContent?.startsWith('redis'),
    );
    await page.screenshot({ path: join(OUTPUT, 'status-1-primary.png'), fullPage: true });

    await redis.kill();
    const toFallback = await backendShows(page, 'fallback', 5_000);
    expect(toFallback).toBeLessThan(5_000);
    // The live event list shows the failover (fed by /events).
    await page.waitForFunction(() =>
      document.getElementById('events')?.textContent?.includes('failover'),
    );
    await page.waitForFunction(
      () => document.getElementById('redis-health')?.textContent !== 'healthy',
    );
    await page.screenshot({ path: join(OUTPUT, 'status-2-fallback.png'), fullPage: true });

    await redis.restart();
    const toPrimary = await backendShows(page, 'primary', 5_000);
    expect(toPrimary).toBeLessThan(5_000);
    await page.waitForFunction(() =>
      document.getElementById('events')?.textContent?.includes('recover'),
    );
    await page.waitForFunction(
      () => document.getElementById('redis-health')?.textContent === 'healthy',
    );
    await page.screenshot({ path: join(OUTPUT, 'status-3-recovered.png'), fullPage: true });
    expect(existsSync(join(OUTPUT, 'status-3-recovered.png'))).toBe(true);
    await page.close();
  });
});
