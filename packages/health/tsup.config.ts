import { defineConfig } from 'tsup';

export default defineConfig({
  // cli.ts is the x-redis-check bin (ESM, shebang kept by tsup); only index.ts has types.
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts', compilerOptions: { customConditions: [] } },
  clean: true,
  sourcemap: true,
  target: 'node20',
  removeNodeProtocol: false,
});
