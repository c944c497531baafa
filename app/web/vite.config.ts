// The app bundles the generated client from its TypeScript source (app/client-ts/src) and reads
// the event discriminators from idls/lever.json, so a change to the program reaches the app
// through the same generated files the client's drift test checks. `@solana/kit` resolves to this
// package's copy, for the client's files too: one kit in the bundle.
import { defineConfig } from 'vite';
import path from 'node:path';

export default defineConfig({
  base: './',
  resolve: {
    alias: { '@lever/client': path.resolve(import.meta.dirname, '../client-ts/src/index.ts') },
    dedupe: ['@solana/kit'],
  },
  build: { outDir: 'dist', target: 'es2022', sourcemap: false, chunkSizeWarningLimit: 1024 },
  server: { fs: { allow: [path.resolve(import.meta.dirname, '../..')] } },
});
