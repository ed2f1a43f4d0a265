// Runs in every test file: stops every process the test kit started, even when a test failed.
import { afterAll } from 'vitest';

afterAll(async () => {
  const kit = globalThis[Symbol.for('@x/testkit.registry')];
  if (kit) await kit.stopAll();
});
