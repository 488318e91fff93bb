// The broker under test, in a process of its own so that a crash shows as the process
// exiting. Bundled from the TypeScript sources by broker-process.js. Hooks and an enhanced
// auth method make some sessions take the asynchronous paths (paused reading, AUTH rounds).
import { Broker, MemoryPersistence } from '@hato/broker';

const later = (value) => new Promise((resolve) => setImmediate(() => resolve(value)));
const boom = (where) => new Error(`fuzz: ${where} hook failed on purpose`);
const rejectLater = (where) => new Promise((_resolve, reject) => setImmediate(() => reject(boom(where))));

/**
 * A hook's answer by a marker in the user name or topic: 'deny', 'async' (true later),
 * 'throw' (throws), 'reject' (a promise that rejects), else true. Hooks that fail must end
 * at most that connection (issue 8 §1).
 */
function hookAnswer(marker, where) {
  if (marker === undefined) return true;
  if (marker.includes('deny')) return false;
  if (marker.includes('async')) return later(true);
  if (marker.includes('throw')) throw boom(where);
  if (marker.includes('reject')) return rejectLater(where);
  return true;
}

/**
 * 'FUZZ' method: Authentication Data 0 (or none) succeeds, 1 asks for one more AUTH, 2 fails,
 * 3 succeeds asynchronously, 4 throws, 5 rejects.
 */
const fuzzAuth = {
  name: 'FUZZ',
  begin() {
    return {
      step(data) {
        const b = data?.[0];
        if (b === 1) return { outcome: 'continue', data: Uint8Array.of(0) };
        if (b === 2) return { outcome: 'failure' };
        if (b === 3) return later({ outcome: 'success' });
        if (b === 4) throw boom('auth step');
        if (b === 5) return rejectLater('auth step');
        return { outcome: 'success' };
      },
    };
  },
};

/**
 * The in-memory Persistence, failing for markers: client ids and retained topics containing
 * 'persist-throw' throw, 'persist-reject' reject. Store failures must never end the process.
 * A `commit(batch)` fails when any change in it is marked, as a store refusing one value
 * would: the journal then retries client by client, so only acks that depend on a marked
 * client's changes may fail, never a healthy client's that shared the turn.
 */
const memory = new MemoryPersistence();
function storeFailure(marker, where) {
  if (typeof marker !== 'string') return undefined;
  if (marker.includes('persist-throw')) throw boom(where);
  if (marker.includes('persist-reject')) return rejectLater(where);
  return undefined;
}
const markerOf = (change) => change?.clientId ?? change?.topic ?? change?.message?.topic;
const MARKERS = {
  setRetained: (message) => message?.topic,
  deleteRetained: (topic) => topic,
  saveSession: (record) => record?.clientId,
  deleteSession: (clientId) => clientId,
  commit: (batch) => {
    const markers = Array.isArray(batch) ? batch.map(markerOf) : [];
    return markers.find((m) => typeof m === 'string' && m.includes('persist-'));
  },
};
const persistence = new Proxy(memory, {
  get(target, name) {
    const value = Reflect.get(target, name, target);
    if (typeof value !== 'function') return value;
    const marker = MARKERS[name];
    return (...args) => (marker === undefined ? undefined : storeFailure(marker(args[0]), String(name))) ?? value.apply(target, args);
  },
});

/** Broker options per profile (argv[2]): the defaults, or small limits so the fuzz reaches them. */
const PROFILES = {
  default: {},
  limits: {
    connectTimeoutMs: 2000,
    maximumPacketSize: 4096,
    maxClientIdLength: 64,
    maxTopicLevels: 8,
    maxQueuedMessages: 10,
    maxQueuedBytes: 16 * 1024,
    queueQoS0Messages: true,
    maxInflightMessages: 2,
    receiveMaximum: 4,
    topicAliasMaximum: 3,
    maxWriteQueuePackets: 50,
    maxWriteQueueBytes: 64 * 1024,
    maxSubscriptionsPerClient: 4,
    maxRetainedMessages: 16,
  },
};
const profile = process.argv[2] ?? 'default';
if (!(profile in PROFILES)) throw new Error(`unknown broker profile ${profile}`);

const broker = new Broker({
  ...PROFILES[profile],
  // HATO_FUZZ_PLAIN_PERSISTENCE=1: the in-memory persistence without the failing markers.
  persistence: process.env.HATO_FUZZ_PLAIN_PERSISTENCE ? memory : persistence,
  authMethods: [fuzzAuth],
  hooks: {
    authenticate: (_client, username) => hookAnswer(username, 'authenticate'),
    authorizePublish: (_client, packet) => {
      if (packet.topic === 'z') return false;
      if (packet.topic === 'r/1') return later(true);
      return hookAnswer(packet.topic.startsWith('hook/') ? packet.topic : undefined, 'authorizePublish');
    },
    // Synchronous hooks asked while routing: their failures happen on the publisher's turn.
    // Throws for one recipient only ('fz-h'), so some deliveries of the same message succeed
    // first and the hook fails later, when a share group hands that message to another member.
    authorizeDelivery: (client, topic) => {
      if (topic === 'hook/deliver-throw' && client.id === 'fz-h') throw boom('authorizeDelivery');
      return topic !== 'hook/deliver-deny';
    },
    chooseSharedMember: (candidates, _message, group) => {
      // Group 't' fails when one candidate is left: while routing to a lone member, or while a
      // leaving member's messages are handed over to the other.
      if (group === 't' && candidates.length === 1) throw boom('chooseSharedMember');
      if (group === 'h') return candidates.length + 3; // out of range
      return 0;
    },
    authorizeSubscribe: (_client, sub) => {
      if (sub.topicFilter === '+/+/c') return false;
      if (sub.topicFilter === '$SYS/#') return later(1);
      return hookAnswer(sub.topicFilter.startsWith('hook/') ? sub.topicFilter : undefined, 'authorizeSubscribe');
    },
  },
});

// What the sessions reached, for the summary.
const counts = { connected: 0, clientErrors: 0, published: 0, subscribed: 0 };
broker.on('clientConnected', () => counts.connected++);
broker.on('clientError', () => counts.clientErrors++);
// HATO_FUZZ_LOG_ERRORS=1: every error that ends a connection, with its stack and cause, on stderr.
if (process.env.HATO_FUZZ_LOG_ERRORS) broker.on('clientError', (client, err) => console.error(`clientError ${client.id}:`, err));
broker.on('published', () => counts.published++);
broker.on('subscribed', () => counts.subscribed++);

async function main() {
  const tcp = await broker.listen({ port: 0, host: '127.0.0.1' });
  const ws = await broker.listenWebSocket({ port: 0, host: '127.0.0.1' });
  process.send({ ready: true, port: tcp.port, wsPort: ws.port });
}

process.on('message', (msg) => {
  if (msg?.stats) process.send({
      stats: { ...process.memoryUsage(), ...counts, sessions: broker.sessions.size, online: broker.connectedCount, retained: broker.retained.size },
    });
});
// The fuzzer going away (even killed) ends the broker too.
process.on('disconnect', () => process.exit(0));
main().catch((err) => {
  console.error(err);
  process.exit(2);
});
