import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', express: 'src/express-store.ts' },
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { customConditions: [] } },
  clean: true,
  sourcemap: true,
  target: 'node20',
  removeNodeProtocol: false,
  // The express entry loads express-session lazily with createRequire(import.meta.url): shimmed in CJS.
  shims: true,
});
