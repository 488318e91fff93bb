/**
 * A short seeded run of the broker fuzzer (npm run fuzz:broker): a bounded number of mutated
 * sessions over TCP and WebSocket against the broker in a child process, with the invariant
 * (alive, serving a healthy client) checked after every batch. It must find nothing.
 * Seed 1 runs the broker with small limits, seed 2 with its defaults.
 */
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../../fuzz/broker/index.js';

describe('broker fuzzer', () => {
  for (const seed of [1, 2]) {
    it(`seed ${seed}: 1500 mutated sessions leave the broker alive and serving after every batch`, async () => {
      const summary = await runFuzz({ seed, maxCases: 1500, batchSize: 500, concurrency: 32, minimize: false });
      const found = summary.failures.map((f) => `${f.failure}\n${f.file}\n${f.stderr}`).join('\n\n');
      expect(found).toBe('');
      expect(summary.profile).toBe(seed === 1 ? 'limits' : 'default');
      expect(summary.cases).toBe(1500);
      expect(summary.invariantChecks).toBe(3);
      expect(summary.wsCases).toBeGreaterThan(0);
    }, 300_000);
  }
});
