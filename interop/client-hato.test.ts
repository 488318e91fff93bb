/**
 * The client acceptance suite against hato's own broker (embedded `new Broker()`):
 * TCP and WebSocket; TLS for hato comes in a later issue. A restart closes the broker
 * and starts a new one on the same ports with the same persistence.
 */
import { Broker, MemoryPersistence } from '@hato/broker';
import { clientSuite } from './client-support/suite.js';

let broker: Broker | undefined;
let persistence = new MemoryPersistence();
let port = 0;
let wsPort = 0;

async function start(): Promise<void> {
  broker = new Broker({ persistence });
  port = (await broker.listen({ port, host: '127.0.0.1' })).port;
  wsPort = (await broker.listenWebSocket({ port: wsPort, host: '127.0.0.1' })).port;
}

clientSuite({
  name: 'hato',
  start,
  dispose: async () => {
    await broker?.close();
    persistence = new MemoryPersistence();
    port = wsPort = 0;
  },
  url: (t) =>
    t === 'tcp'
      ? `mqtt://127.0.0.1:${port}`
      : t === 'ws'
        ? `ws://127.0.0.1:${wsPort}/mqtt`
        : { skip: "hato's TLS listener comes in a later issue" },
  restart: async () => {
    await broker?.close();
    await start();
  },
});
