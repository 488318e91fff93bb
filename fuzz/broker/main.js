#!/usr/bin/env node
// npm run fuzz:broker -- ...   (see README.md and cli.js)
// Bundles cli.js with esbuild from the TypeScript sources (the `source` export condition, as
// vitest resolves them), so no build is needed and the fuzzer never runs a stale testkit;
// `vitest`, which test-only modules of the testkit import, is stubbed out.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hato-fuzz-cli-'));
const outfile = join(dir, 'fuzz-cli.mjs');

const stubVitest = {
  name: 'stub-vitest',
  setup(build) {
    build.onResolve({ filter: /^vitest$/ }, () => ({ path: 'vitest', namespace: 'stub-vitest' }));
    build.onLoad({ filter: /.*/, namespace: 'stub-vitest' }, () => ({
      contents: 'module.exports = new Proxy({}, { get: () => () => undefined });',
      loader: 'js',
    }));
  },
};

try {
  await esbuild.build({
    entryPoints: [join(here, 'cli.js')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    external: ['esbuild', 'bufferutil', 'utf-8-validate'],
    plugins: [stubVitest],
    // Bundled CommonJS (ws) requires Node built-ins.
    banner: { js: "import { createRequire as hatoFuzzRequire } from 'node:module'; const require = hatoFuzzRequire(import.meta.url);" },
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  globalThis.hatoFuzzDir = here;
  globalThis.hatoFuzzEsbuild = esbuild;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  await import(pathToFileURL(outfile).href);
} catch (err) {
  rmSync(dir, { recursive: true, force: true });
  throw err;
}
