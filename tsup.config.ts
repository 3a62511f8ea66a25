import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'operators/index': 'src/operators/index.ts', 'postgres/index': 'src/postgres/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  splitting: true,
  treeshake: true,
  external: ['rxjs', 'pg'],
});
