import { createServer } from 'node:http';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/index.js';
import { collect, waitFor } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function wsClient(url: string, protocolVersion: 4 | 5 = 4): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion, reconnectPeriod: 0, connectTimeout: 5000 });
    cleanups.push(() => new Promise<void>((done) => client.end(true, {}, () => done())));
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

describe('MQTT over WebSocket', () => {
  it('listenWebSocket serves MQTT on /mqtt, interoperating with TCP clients', async () => {
    const broker = new Broker();
    cleanups.push(() => broker.close());
    const ws = await broker.listenWebSocket({ port: 0, host: '127.0.0.1' });
    const tcp = await broker.listen({ port: 0, host: '127.0.0.1' });
    const sub = await wsClient(`ws://127.0.0.1:${ws.port}/mqtt`, 5);
    const got = collect(sub);
    await sub.subscribeAsync('ws/#', { qos: 1 });
    const pub = await new Promise<mqtt.MqttClient>((resolve) => {
      const c = mqtt.connect({ host: '127.0.0.1', port: tcp.port, reconnectPeriod: 0 });
      cleanups.push(() => new Promise<void>((done) => c.end(true, {}, () => done())));
      c.once('connect', () => resolve(c));
    });
    await pub.publishAsync('ws/hello', 'over ws', { qos: 1 });
    await waitFor(() => got.length === 1);
    expect(got[0]!.payload).toBe('over ws');
  });

  it('attachWebSocket serves MQTT on a path of an existing HTTP server', async () => {
    const broker = new Broker();
    cleanups.push(() => broker.close());
    const server = createServer((_req, res) => res.end('app'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    broker.attachWebSocket(server, { path: '/broker' });
    const port = (server.address() as { port: number }).port;
    const c = await wsClient(`ws://127.0.0.1:${port}/broker`);
    const got = collect(c);
    await c.subscribeAsync('x');
    await c.publishAsync('x', 'self');
    await waitFor(() => got.length === 1);
    const body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    expect(body).toBe('app');
  });
});
