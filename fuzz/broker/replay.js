// Replays a saved file: its cases against a fresh broker child, then the invariant. Cases
// marked `expectClosedByBroker` are played without ending the connection from this side,
// and the broker must close it.
import { readFileSync } from 'node:fs';
import { startBrokerProcess } from './broker-process.js';
import { caseFromJson } from './cases.js';
import { checkInvariant, runCases } from './fuzzer.js';

export function loadReplay(file) {
  const data = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(data.cases) || data.cases.length === 0) throw new Error(`${file}: no cases`);
  return data;
}

/**
 * Resolves { failure, stderr, notClosed, timedOut }: `failure` when the invariant does not
 * hold, `notClosed` the indexes of cases the broker should have closed and did not,
 * `timedOut` those of other cases whose connection did not end.
 */
export async function replay(bundle, data, concurrency = 64) {
  const cases = data.cases.map((raw) => {
    const c = caseFromJson(raw);
    if (raw.expectClosedByBroker) c.close = 'none';
    return c;
  });
  const broker = await startBrokerProcess(bundle, data.profile ?? 'default');
  try {
    const results = await runCases(broker, cases, concurrency);
    const failure = await checkInvariant(broker);
    const notClosed = [];
    const timedOut = [];
    data.cases.forEach((raw, i) => {
      const r = results[i];
      if (raw.expectClosedByBroker && !r?.closedByBroker) notClosed.push(i);
      else if (!raw.expectClosedByBroker && r?.timedOut) timedOut.push(i);
    });
    return { failure, stderr: broker.stderr(), notClosed, timedOut };
  } finally {
    await broker.stop();
  }
}
