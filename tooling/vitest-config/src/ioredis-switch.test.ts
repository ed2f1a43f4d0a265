// The preset's X_IOREDIS switch: proves which ioredis the suite really runs on.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import Redis from 'ioredis';
import manifest from 'ioredis/package.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';

const wanted = process.env.X_IOREDIS === '6' ? '6' : '5';
const require = createRequire(import.meta.url);

describe('ioredis switch (X_IOREDIS)', () => {
  it(`serves ioredis ${wanted} to "import ... from 'ioredis'"`, () => {
    expect(manifest.version.split('.')[0]).toBe(wanted);
  });

  it('the Redis class imported is the one of that copy', () => {
    const copy = wanted === '6' ? 'ioredis6' : 'ioredis';
    const dir = dirname(require.resolve(`${copy}/package.json`));
    expect(Redis).toBe(require(dir));
    expect(require(`${dir}/package.json`).version).toBe(manifest.version);
  });
});
