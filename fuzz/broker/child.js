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

const broker = new Broker({
  authMethods: [fuzzAuth],
  hooks: {
    authenticate: (_client, username) => (username === 'deny' ? false : username === 'async' ? later(true) : true),
    authorizePublish: (_client, packet) => (packet.topic === 'z' ? false : packet.topic === 'r/1' ? later(true) : true),
    authorizeSubscribe: (_client, sub) => (sub.topicFilter === '+/+/c' ? false : sub.topicFilter === '$SYS/#' ? later(1) : true),
  },
});

let clientErrors = 0;
broker.on('clientError', () => {
  clientErrors++;
});

async function main() {
  const tcp = await broker.listen({ port: 0, host: '127.0.0.1' });
  const ws = await broker.listenWebSocket({ port: 0, host: '127.0.0.1' });
  process.send({ ready: true, port: tcp.port, wsPort: ws.port });
}

process.on('message', (msg) => {
  if (msg?.stats) process.send({ stats: { ...process.memoryUsage(), clientErrors } });
});
// The fuzzer going away (even killed) ends the broker too.
process.on('disconnect', () => process.exit(0));
main().catch((err) => {
  console.error(err);
  process.exit(2);
});
