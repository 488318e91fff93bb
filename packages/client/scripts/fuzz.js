#!/usr/bin/env node
/**
 * Runs the client fuzzer from source: bundles test/fuzz/main.ts with esbuild (the
 * workspace packages through their `source` condition) into a temporary directory and
 * runs it. Arguments pass through: `--seconds N --seed S --cases N --concurrency C`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'hato-fuzz-client-'));
try {
  const outfile = join(dir, 'fuzz-client.mjs');
  await build({
    entryPoints: [join(root, 'test', 'fuzz', 'main.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    conditions: ['source'],
    packages: 'bundle',
    external: ['bufferutil', 'utf-8-validate'],
    // ws is CommonJS: give its require() calls (node built-ins, optional add-ons) a real require.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  const result = spawnSync(process.execPath, ['--enable-source-maps', outfile, ...process.argv.slice(2)], {
    stdio: 'inherit',
    cwd: root,
  });
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
