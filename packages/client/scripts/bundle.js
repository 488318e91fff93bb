#!/usr/bin/env node
/**
 * Builds the browser bundle: one minified ESM file, bundle/hato-client.min.js, from
 * the browser-safe entry (src/index.ts, no Node built-ins). Prints the size, raw and
 * gzipped. Used by the browser test and by `npm run bundle -w @hato/client`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles; returns the output path and sizes. */
export async function bundle(outfile = join(root, 'bundle', 'hato-client.min.js')) {
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await build({
    entryPoints: [join(root, 'src', 'index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    conditions: ['source'],
    write: true,
    metafile: true,
    legalComments: 'none',
  });
  const code = readFileSync(outfile);
  return { outfile, bytes: code.length, gzip: gzipSync(code).length, inputs: Object.keys(result.metafile.inputs) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outfile, bytes, gzip } = await bundle();
  process.stdout.write(`${outfile}: ${bytes} bytes, ${gzip} bytes gzipped\n`);
}
