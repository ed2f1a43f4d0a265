// Shared vitest preset. Plain JS on purpose: Node 20 cannot load a .ts config from a package.
import { fileURLToPath } from 'node:url';

// Resolve sibling packages to their TypeScript source (no build needed for tests).
const conditions = ['@x/source', 'module', 'node', 'development|production'];

const teardown = fileURLToPath(new URL('./setup.js', import.meta.url));

/**
 * Builds a vitest config for one workspace package.
 * @param {import('vitest/config').ViteUserConfig['test']} [test] extra test options
 * @returns {import('vitest/config').ViteUserConfig}
 */
export function defineXConfig(test = {}) {
  return {
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@x/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      pool: 'forks',
      testTimeout: 20_000,
      hookTimeout: 30_000,
      teardownTimeout: 10_000,
      passWithNoTests: false,
      allowOnly: false,
      setupFiles: [teardown],
      reporters: ['default', 'json'],
      outputFile: { json: './.test-results/vitest.json' },
      ...test,
    },
  };
}
