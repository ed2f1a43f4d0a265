// Shared vitest preset. Plain JS on purpose: Node 20 cannot load a .ts config from a package.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// Resolve sibling packages to their TypeScript source (no build needed for tests).
// No `module` condition: resolve dependencies as Node does (some packages, e.g. OpenTelemetry's,
// name a bundler-only build under `module`, with extension-less imports Node cannot load).
const conditions = ['@x/source', 'node', 'development|production'];

const teardown = fileURLToPath(new URL('./setup.js', import.meta.url));

/**
 * The ioredis major the tests run on: `X_IOREDIS=6` serves every `import ... from 'ioredis'`
 * (in the packages' source, their tests and the test kit) from the latest ioredis 6, installed
 * here under the alias `ioredis6`; anything else keeps the workspace's ioredis 5. The packages'
 * own tests run unchanged on either, which is how the whole suite covers the peer range
 * `^5.9 || ^6`. (Child processes bundled with esbuild by the test kit keep ioredis 5.)
 */
function ioredisAlias() {
  const major = process.env.X_IOREDIS;
  if (major === undefined || major === '' || major === '5') return [];
  if (major !== '6') throw new Error(`[@x/vitest-config] X_IOREDIS must be 5 or 6, not "${major}"`);
  const dir = dirname(createRequire(import.meta.url).resolve('ioredis6/package.json'));
  return [{ find: /^ioredis(?=\/|$)/, replacement: dir }];
}

/**
 * Name of this run's JSON report, `.test-results/vitest[.<variant>].json`: `X_TEST_VARIANT`, or
 * `ioredis6` with `X_IOREDIS=6`. Each pass of `scripts/run.mjs` (ioredis 6, Node 22, Node 24)
 * keeps its own report, and the final `N passed, N failed` line sums them all.
 */
function reportFile() {
  const variant = process.env.X_TEST_VARIANT || (process.env.X_IOREDIS === '6' ? 'ioredis6' : '');
  if (variant && !/^[\w-]+$/.test(variant)) {
    throw new Error(`[@x/vitest-config] X_TEST_VARIANT must be a plain word, not "${variant}"`);
  }
  return `./.test-results/vitest${variant ? `.${variant}` : ''}.json`;
}

/**
 * Builds a vitest config for one workspace package.
 * @param {import('vitest/config').ViteUserConfig['test']} [test] extra test options
 * @returns {import('vitest/config').ViteUserConfig}
 */
export function defineXConfig(test = {}) {
  return {
    resolve: { conditions, alias: ioredisAlias() },
    ssr: { resolve: { conditions, externalConditions: ['@x/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      pool: 'forks',
      // Roomy: a README type-check compiles a whole package, which takes long on a loaded 2-core machine.
      testTimeout: 45_000,
      hookTimeout: 30_000,
      teardownTimeout: 10_000,
      passWithNoTests: false,
      allowOnly: false,
      setupFiles: [teardown],
      reporters: ['default', 'json'],
      outputFile: { json: reportFile() },
      ...test,
    },
  };
}
