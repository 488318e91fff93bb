/**
 * The browser entry must stay browser-safe: bundling src/index.ts for the browser
 * platform with no externals succeeds, pulls in no Node built-in, and the output
 * imports nothing (`node:` or otherwise). The Node entry, as a control, does not bundle
 * for the browser.
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const src = join(import.meta.dirname, '../src');

async function bundleForBrowser(entry: string) {
  return build({
    entryPoints: [join(src, entry)],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    conditions: ['source'],
    metafile: true,
    logLevel: 'silent',
  });
}

describe('browser entry', () => {
  it('bundles for platform browser with no externals and no node: import', async () => {
    const result = await bundleForBrowser('index.ts');
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/\bfrom\s*["']node:|import\(["']node:|require\(["']node:/);
    expect(code).not.toMatch(/^\s*import\s/m); // fully self-contained
    expect(code).not.toMatch(/\bBuffer\.|\bprocess\./); // no Node globals either
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.startsWith('node:') || i.includes('/node_modules/ws/'))).toBe(false);
    expect(inputs.some((i) => i.endsWith('file-store.ts') || i.endsWith('transports/socket.ts'))).toBe(false);
    // The codec comes along from @hato/protocol sources.
    expect(inputs.some((i) => i.includes('protocol/src/decoder.ts'))).toBe(true);
  });

  it('control: the Node entry does not bundle for the browser (it needs node:net)', async () => {
    await expect(bundleForBrowser('node.ts')).rejects.toThrow(/node:/);
  });
});
