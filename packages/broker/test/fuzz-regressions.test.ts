/**
 * Every file in fuzz-regressions/ (a crash or hang found by `npm run fuzz:broker`, or written
 * by hand for a known one) replayed over real sockets against the broker in a child process:
 * afterwards the process is alive and serves a healthy client (QoS 0, 1 and 2 end to end),
 * and the connections marked expectClosedByBroker were closed by the broker.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleChild, loadReplay, replay } from '../../../fuzz/broker/index.js';

const dir = fileURLToPath(new URL('./fuzz-regressions/', import.meta.url));
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.json'))
  .sort();

let bundle: { file: string; dispose(): void } | undefined;
beforeAll(async () => {
  bundle = await bundleChild();
}, 60_000);
afterAll(() => bundle?.dispose());

describe('broker fuzz regressions', () => {
  it('has regression files, among them the second CONNECT with protocol level 9 (issue 8)', () => {
    expect(files).toContain('v5-second-connect-protocol-level-9.json');
  });

  for (const name of files) {
    it(`${name}: the broker survives and still serves a healthy client; connections marked for it are closed by the broker`, async () => {
      const data = loadReplay(join(dir, name));
      const result = await replay(bundle!.file, data);
      expect(result.failure, result.stderr).toBeUndefined();
      expect(result.notClosed).toEqual([]);
      expect(result.timedOut).toEqual([]);
    }, 60_000);
  }
});
