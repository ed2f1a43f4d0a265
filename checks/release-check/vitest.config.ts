import { defineXConfig } from '@x/vitest-config';
import { defineConfig } from 'vitest/config';

// One file publishes and then installs from the registry step by step: its tests run in order,
// and each step (an npm install, a tsc run, a build) takes seconds, not milliseconds.
export default defineConfig(defineXConfig({ testTimeout: 120_000, hookTimeout: 120_000 }));
