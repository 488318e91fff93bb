// The broker under test, in a process of its own so that a crash shows as the process
// exiting. Bundled from the TypeScript sources by broker-process.js. Hooks and an enhanced
// auth method make some sessions take the asynchronous paths (paused reading, AUTH rounds).
import { Broker } from '@hato/broker';

const later = (value) => new Promise((resolve) => setImmediate(() => resolve(value)));

/** 'FUZZ' method: Authentication Data 0 (or none) succeeds, 1 asks for one more AUTH, 2 fails, 3 succeeds asynchronously. */
const fuzzAuth = {
  name: 'FUZZ',
  begin() {
    return {
      step(data) {
        const b = data?.[0];
        if (b === 1) return { outcome: 'continue', data: Uint8Array.of(0) };
        if (b === 2) return { outcome: 'failure' };
        if (b === 3) return later({ outcome: 'success' });
        return { outcome: 'success' };
      },
    };
  },
};

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
  authMethods: [fuzzAuth],
  hooks: {
    authenticate: (_client, username) => (username === 'deny' ? false : username === 'async' ? later(true) : true),
    authorizePublish: (_client, packet) => (packet.topic === 'z' ? false : packet.topic === 'r/1' ? later(true) : true),
    authorizeSubscribe: (_client, sub) => (sub.topicFilter === '+/+/c' ? false : sub.topicFilter === '$SYS/#' ? later(1) : true),
  },
});

// What the sessions reached, for the summary.
const counts = { connected: 0, clientErrors: 0, published: 0, subscribed: 0 };
broker.on('clientConnected', () => counts.connected++);
broker.on('clientError', () => counts.clientErrors++);
broker.on('published', () => counts.published++);
broker.on('subscribed', () => counts.subscribed++);

async function main() {
  const tcp = await broker.listen({ port: 0, host: '127.0.0.1' });
  const ws = await broker.listenWebSocket({ port: 0, host: '127.0.0.1' });
  process.send({ ready: true, port: tcp.port, wsPort: ws.port });
}

process.on('message', (msg) => {
  if (msg?.stats) process.send({ stats: { ...process.memoryUsage(), ...counts } });
});
// The fuzzer going away (even killed) ends the broker too.
process.on('disconnect', () => process.exit(0));
main().catch((err) => {
  console.error(err);
  process.exit(2);
});
