/**
 * A short seeded run of the client fuzzer (test/fuzz/): mutated server sessions over
 * real loopback TCP. Invariants: no uncaught exception or unhandled rejection, every
 * promise settled once end() has, no per-message state left, only typed error events,
 * no malformed bytes from the client, the heap bounded. The long run is
 * `npm run fuzz:client -- --seconds N --seed S`.
 */
import { describe, expect, it } from 'vitest';
import { runFuzz } from './fuzz/fuzzer.js';

describe('client fuzzer (short seeded run)', () => {
  it('300 mutated server sessions: every invariant holds', async () => {
    const report = await runFuzz({ seed: 20261126, cases: 300, concurrency: 16 });
    expect(report.findings).toEqual([]);
    expect(report.cases).toBe(300);
    // The run did reach the paths under test: protocol errors, unknown ids, refusals.
    expect(report.errors.ServerProtocolError).toBeGreaterThan(0);
    expect(report.errors.UnexpectedPacketError).toBeGreaterThan(0);
    expect(report.errors.ConnectError).toBeGreaterThan(0);
    expect(report.connections).toBeGreaterThanOrEqual(300);
  }, 120_000);
});
