// Per-listener rules (ListenerRules): allowed protocol versions, maximum connections, the
// WebSocket Origin allow-list; and broker.close({ publishWills: true }).
import type * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Broker, type Client } from '../src/index.js';
import { RawClient } from './helpers.js';

let broker: Broker | undefined;
const opened: RawClient[] = [];
afterEach(async () => {
  for (const client of opened.splice(0)) client.destroy();
  await broker?.close();
  broker = undefined;
});

async function connect(port: number, protocolVersion: 3 | 4 | 5, clientId = `c${Math.random()}`, extra: Partial<mqttPacket.IConnectPacket> = {}) {
  const result = await RawClient.connect(port, { protocolVersion, clientId, ...extra });
  opened.push(result.client);
  return result;
}

describe('listener protocolVersions', () => {
  it('[MQTT-3.1.2-2] a 3.1.1 CONNECT on a 5.0-only listener gets return code 1 and is closed', async () => {
    broker = new Broker();
    const { port } = await broker.listen({ port: 0, host: '127.0.0.1', protocolVersions: [5] });
    const { client, connack } = await connect(port, 4);
    expect(connack.returnCode).toBe(1);
    await client.waitClosed();
    expect((await connect(port, 5)).connack.reasonCode).toBe(0);
  });

  it('[MQTT-3.1.2-2] a 5.0 CONNECT on a 3.x-only listener gets CONNACK 0x84', async () => {
    broker = new Broker();
    const { port } = await broker.listen({ port: 0, host: '127.0.0.1', protocolVersions: [3, 4] });
    const { client, connack } = await connect(port, 5);
    expect(connack.reasonCode).toBe(0x84);
    await client.waitClosed();
    expect((await connect(port, 3, 'short')).connack.returnCode).toBe(0);
    expect((await connect(port, 4)).connack.returnCode).toBe(0);
  });

  it('hooks see the listener name as client.transport.listener', async () => {
    const seen: (string | undefined)[] = [];
    broker = new Broker({ hooks: { authenticate: (client: Client) => seen.push(client.transport?.listener) > 0 } });
    const { port } = await broker.listen({ port: 0, host: '127.0.0.1', name: 'inside' });
    await connect(port, 4);
    expect(seen).toEqual(['inside']);
  });
});

describe('listener maxConnections', () => {
  it('a connection beyond the maximum is closed at accept; one closing makes room', async () => {
    broker = new Broker();
    const listener = await broker.listen({ port: 0, host: '127.0.0.1', maxConnections: 1 });
    const first = await connect(listener.port, 4);
    expect(listener.connections).toBe(1);
    const second = await RawClient.open(listener.port);
    opened.push(second);
    await second.waitClosed();
    expect(second.packets).toEqual([]);
    first.client.destroy();
    await first.client.waitClosed();
    await expect.poll(() => listener.connections).toBe(0);
    expect((await connect(listener.port, 4)).connack.returnCode).toBe(0);
  });
});

function upgrade(port: number, headers: Record<string, string>): Promise<{ status: number } | { open: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt', { headers });
    ws.once('open', () => resolve({ open: ws }));
    ws.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

describe('WebSocket allowedOrigins', () => {
  it('refuses an upgrade from an Origin not listed (403); accepts a listed one and none', async () => {
    broker = new Broker();
    const { port } = await broker.listenWebSocket({ port: 0, host: '127.0.0.1', allowedOrigins: ['https://app.example.com'] });
    expect(await upgrade(port, { Origin: 'https://evil.example.net' })).toEqual({ status: 403 });
    for (const headers of [{ Origin: 'https://app.example.com' }, {}] as Record<string, string>[]) {
      const result = await upgrade(port, headers);
      expect('open' in result).toBe(true);
      if ('open' in result) result.open.terminate();
    }
  });

  it('a WebSocket beyond maxConnections is refused with 503', async () => {
    broker = new Broker();
    const { port } = await broker.listenWebSocket({ port: 0, host: '127.0.0.1', maxConnections: 1 });
    const first = await upgrade(port, {});
    expect('open' in first).toBe(true);
    expect(await upgrade(port, {})).toEqual({ status: 503 });
    if ('open' in first) first.open.terminate();
  });
});

describe('broker.close({ publishWills: true })', () => {
  it('publishes the wills of connected clients to subscribers still connected, then DISCONNECT 0x8B', async () => {
    broker = new Broker();
    const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
    const { client: watcher } = await connect(port, 5, 'watcher');
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] } as mqttPacket.ISubscribePacket);
    await watcher.next('suback');
    await connect(port, 4, 'leaver', { will: { topic: 'will/leaver', payload: Buffer.from('gone'), qos: 0, retain: false } });
    const closing = broker.close({ publishWills: true });
    const will = (await watcher.next('publish')) as mqttPacket.IPublishPacket;
    expect([will.topic, will.payload.toString()]).toEqual(['will/leaver', 'gone']);
    expect(((await watcher.next('disconnect')) as mqttPacket.IDisconnectPacket).reasonCode).toBe(0x8b);
    await closing;
  });

  it('also publishes a will still waiting for its Will Delay Interval (its session would end with the process)', async () => {
    broker = new Broker();
    const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
    const { client: watcher } = await connect(port, 5, 'watcher');
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'will/#', qos: 0 }] } as mqttPacket.ISubscribePacket);
    await watcher.next('suback');
    const delayed = { topic: 'will/delayed', payload: Buffer.from('late'), qos: 0 as const, retain: false, properties: { willDelayInterval: 3600 } };
    const { client: dropped } = await connect(port, 5, 'dropped', { will: delayed, properties: { sessionExpiryInterval: 3600 } });
    dropped.destroy();
    await expect.poll(() => broker?.connectedCount).toBe(1);
    const closing = broker.close({ publishWills: true });
    const will = (await watcher.next('publish')) as mqttPacket.IPublishPacket;
    expect([will.topic, will.payload.toString()]).toEqual(['will/delayed', 'late']);
    await closing;
  });
});
