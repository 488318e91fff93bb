/**
 * A short seeded run of the broker fuzzer (npm run fuzz:broker): a bounded number of mutated
 * sessions over TCP and WebSocket against the broker in a child process, with the invariant
 * (alive, serving a healthy client) checked after every batch. It must find nothing.
 */
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../../fuzz/broker/index.js';

describe('broker fuzzer, seed 1', () => {
  it('2000 mutated sessions leave the broker alive and serving after every batch', async () => {
    const summary = await runFuzz({ seed: 1, maxCases: 2000, batchSize: 500, concurrency: 32, minimize: false });
    const found = summary.failures.map((f) => `${f.failure}\n${f.file}\n${f.stderr}`).join('\n\n');
    expect(found).toBe('');
    expect(summary.cases).toBe(2000);
    expect(summary.invariantChecks).toBe(4);
    expect(summary.wsCases).toBeGreaterThan(0);
  }, 300_000);
});
