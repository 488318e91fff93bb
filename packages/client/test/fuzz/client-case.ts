/**
 * One fuzz case, client side: a client (Node TCP transport, or the in-process
 * MemoryPipe for most cases: see fuzzer.ts) against the fuzz broker,
 * a few operations that wait on the broker (subscribe, unsubscribe, publish QoS 0/1/2,
 * request, connected), some with a timeout or an AbortSignal, then `end()`. Checks:
 * end() settles, every promise has settled once it has, nothing is left in the
 * client's per-message structures, and every 'error' event is a typed client error.
 */
import { MqttClient, nodeTransports } from '../../src/node.js';
import type { FuzzBroker, FuzzCase } from './fuzz-broker.js';
import { Rng } from './mutate.js';
import { CLIENT_LIMITS } from './session-script.js';

/** Error classes the client may report; anything else (TypeError, RangeError, ...) is a bug. */
const TYPED_ERRORS = new Set([
  'ServerProtocolError',
  'UnexpectedPacketError',
  'DisconnectError',
  'ConnectError',
  'TimeoutError',
  'TransportError',
  'SubscribeError',
  'UnsubscribeError',
  'PublishError',
  'ClientClosedError',
  'QueueFullError',
  'AbortError',
]);
/** Generous hang detectors: far above anything a healthy case takes. */
const END_WATCHDOG_MS = 5000;
const CASE_WATCHDOG_MS = 1500;
const MAX_CONNECTIONS_PER_CASE = 60;

export interface CaseStats {
  connections: number;
  errors: Map<string, number>;
  mutations: Map<string, number>;
  findings: string[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true), late]).finally(() => clearTimeout(timer));
}

class Tracker {
  readonly pending = new Set<string>();
  private n = 0;
  track(label: string, promise: Promise<unknown>): void {
    const key = `${label}#${this.n++}`;
    this.pending.add(key);
    const done = () => this.pending.delete(key);
    promise.then(done, done);
  }
}

function operations(client: MqttClient, rng: Rng, tracker: Tracker, version: 4 | 5): void {
  const wait = () => {
    const r = rng.int(4);
    if (r === 0) return { timeout: 1 + rng.int(30) };
    if (r === 1) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), rng.int(20));
      return { signal: controller.signal };
    }
    return {};
  };
  const n = 1 + rng.int(6);
  for (let i = 0; i < n; i++) {
    const qos = rng.int(3) as 0 | 1 | 2;
    switch (rng.int(version === 5 ? 6 : 5)) {
      case 0:
        tracker.track('subscribe', client.subscribe(rng.chance(0.3) ? ['fuzz/#', 'other'] : 'fuzz/#', { qos, ...wait() }));
        break;
      case 1:
        tracker.track('unsubscribe', client.unsubscribe('fuzz/#', wait()));
        break;
      case 2:
      case 3:
        tracker.track(`publish-qos${qos}`, client.publish('fuzz/out', 'x', { qos, ...wait() }));
        break;
      case 4:
        tracker.track('connected', client.connected());
        break;
      default:
        tracker.track('request', client.request('fuzz/svc', 'q', { timeout: 1 + rng.int(50) }));
    }
  }
}

function checkAfterEnd(client: MqttClient, tracker: Tracker, id: string, findings: string[]): void {
  if (tracker.pending.size > 0) findings.push(`${id}: promises still pending after end(): ${[...tracker.pending].join(', ')}`);
  if (client.state.status !== 'closed') findings.push(`${id}: state after end() is ${client.state.status}`);
  const counts = client.debugCounts();
  for (const key of ['inflight', 'queued', 'packetIds', 'subscribeRequests', 'requests', 'streams', 'waiters'])
    if (counts[key] !== 0) findings.push(`${id}: ${key} = ${counts[key]} after end()`);
}

/** Runs case number `index` of the run seeded with `seed`. */
export async function runCase(
  broker: FuzzBroker,
  seed: number,
  index: number,
  stats: CaseStats,
  overTcp: boolean,
): Promise<void> {
  const rng = new Rng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const version: 4 | 5 = rng.chance(0.5) ? 4 : 5;
  const id = `case-${seed}-${index}`;
  let scriptDone!: () => void;
  const scripted = new Promise<void>((resolve) => (scriptDone = resolve));
  let quiet!: () => void;
  const quieted = new Promise<void>((resolve) => (quiet = resolve));
  const c: FuzzCase = {
    id,
    rng,
    version,
    mutationRate: rng.pick([0, 0.1, 0.3, 0.6]),
    scripted: 1 + rng.int(3),
    connections: 0,
    onScriptDone: scriptDone,
    onQuiet: quiet,
    mutations: stats.mutations,
  };
  broker.add(c);
  const keepalive = rng.chance(0.1) ? 1 : 0;
  const transports = overTcp ? nodeTransports : { mqtt: broker.memoryTransport };
  const client = new MqttClient(`mqtt://127.0.0.1:${broker.port}`, {
    protocolVersion: version,
    clientId: `fuzz-${index}`,
    username: id,
    clean: rng.chance(0.8),
    reconnect: { initialDelay: 1, maxDelay: 8 },
    connectTimeout: 200,
    keepalive,
    pingTimeout: 100,
    queueLimit: 20,
    // Small marks put QoS 0 publishes behind a drain (back-pressure) in some cases.
    writeHighWaterMark: rng.pick([1, 64, 4096, 512 * 1024]),
    ...(version === 5 ? { properties: { ...CLIENT_LIMITS } } : {}),
  }, transports);
  client.on('error', (error) => {
    stats.errors.set(error.name, (stats.errors.get(error.name) ?? 0) + 1);
    if (!TYPED_ERRORS.has(error.name) && !TYPED_ERRORS.has((error.cause as Error | undefined)?.name ?? ''))
      stats.findings.push(`${id}: untyped error event ${error.name}: ${error.message}\n${error.stack}`);
  });
  const ended = new Promise<void>((resolve) => client.once('end', resolve));
  const tracker = new Tracker();
  operations(client, rng, tracker, version);
  client.once('connect', () => operations(client, rng, tracker, version));
  // The case ends a little after the last scripted connection opened, or after a
  // scripted session went quiet with the connection open (with keep alive on: after a
  // keep alive period, so PINGREQ / PINGRESP and their timeout are exercised too).
  const settle = () => sleep(keepalive > 0 ? 1000 + rng.int(300) : rng.int(10));
  await Promise.race([Promise.race([scripted, quieted]).then(settle), ended, sleep(CASE_WATCHDOG_MS)]);
  const endPromise = client.end(rng.chance(0.2) ? { force: true } : { timeout: 20 });
  if (!(await within(endPromise, END_WATCHDOG_MS))) stats.findings.push(`${id}: end() did not settle`);
  await new Promise((resolve) => setImmediate(resolve));
  checkAfterEnd(client, tracker, id, stats.findings);
  if (c.connections > MAX_CONNECTIONS_PER_CASE) stats.findings.push(`${id}: ${c.connections} connections (a tight reconnect loop?)`);
  stats.connections += c.connections;
  broker.remove(id);
}
