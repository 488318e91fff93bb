/**
 * The client acceptance suite against hato's own broker (embedded `new Broker()`):
 * TCP, TLS (certificates made by openssl at run time) and WebSocket. A restart closes the
 * broker and starts a new one on the same ports with the same persistence.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker, MemoryPersistence } from '@hato/broker';
import { makeCertificates } from './client-support/mosquitto.js';
import { clientSuite } from './client-support/suite.js';

let broker: Broker | undefined;
let persistence = new MemoryPersistence();
let port = 0;
let tlsPort = 0;
let wsPort = 0;
let certDir = '';
let tls: { key: string; cert: string; ca: string } | undefined;

async function start(): Promise<void> {
  if (tls === undefined) {
    certDir = mkdtempSync(join(tmpdir(), 'hato-client-tls-'));
    const files = makeCertificates(certDir);
    tls = { key: readFileSync(files.key, 'utf8'), cert: readFileSync(files.cert, 'utf8'), ca: readFileSync(files.ca, 'utf8') };
  }
  broker = new Broker({ persistence });
  port = (await broker.listen({ port, host: '127.0.0.1' })).port;
  tlsPort = (await broker.listenTls({ port: tlsPort, host: '127.0.0.1', key: tls.key, cert: tls.cert })).port;
  wsPort = (await broker.listenWebSocket({ port: wsPort, host: '127.0.0.1' })).port;
}

clientSuite({
  name: 'hato',
  start,
  dispose: async () => {
    await broker?.close();
    persistence = new MemoryPersistence();
    port = tlsPort = wsPort = 0;
    if (certDir !== '') rmSync(certDir, { recursive: true, force: true });
  },
  url: (t) =>
    t === 'tcp' ? `mqtt://127.0.0.1:${port}` : t === 'ws' ? `ws://127.0.0.1:${wsPort}/mqtt` : `mqtts://127.0.0.1:${tlsPort}`,
  clientOptions: (t) => (t === 'tls' ? { ca: tls?.ca } : {}),
  restart: async () => {
    await broker?.close();
    await start();
  },
});
