import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { customConditions: [] } },
  clean: true,
  sourcemap: true,
  target: 'node20',
  removeNodeProtocol: false,
  // `import.meta.url` in the CommonJS build (the API is loaded lazily with createRequire).
  shims: true,
});
