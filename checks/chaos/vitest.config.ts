import { defineXConfig } from '@x/vitest-config';
import { defineConfig } from 'vitest/config';

// One file at a time: each one puts the machine under load (worker processes, 50 concurrent
// workers) and measures deadlines; two at once would starve each other.
export default defineConfig({
  ...defineXConfig({ testTimeout: 90_000 }),
  test: { ...defineXConfig({ testTimeout: 90_000 }).test, fileParallelism: false },
});
