import { randomBytes } from 'node:crypto';
import { Broker } from '@hato/broker';
import mqtt, { type MqttClient } from 'mqtt';
import { expect, it } from 'vitest';
import { useRedisServer } from '@hato/testkit';
import { RedisPersistence } from '../src/index.js';

// A real broker on a real redis-server: what the broker records reaches Redis in the shape
// the broker reads back after a restart (the kill -9 tests with processes are in packages/hato).
const redis = useRedisServer();

async function start(prefix: string): Promise<{ broker: Broker; port: number; store: RedisPersistence }> {
  const store = await RedisPersistence.open(redis().url, { prefix });
  const broker = new Broker({ persistence: store });
  await broker.whenReady();
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  return { broker, port, store };
}

const connect = (port: number, options: mqtt.IClientOptions): Promise<MqttClient> => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, ...options });

for (const protocolVersion of [4, 5] as const) {
  it(`${protocolVersion === 4 ? '3.1.1 clean session 0' : '5.0 Session Expiry > 0'}: queued QoS 1/2 messages, subscriptions and retained messages survive a restart on Redis`, async () => {
    const prefix = `b${randomBytes(6).toString('hex')}:`;
    const session = protocolVersion === 4 ? { clean: false } : { clean: false, properties: { sessionExpiryInterval: 3600 } };
    let { broker, port, store } = await start(prefix);
    const sub = await connect(port, { clientId: 'sub', protocolVersion, ...session });
    await sub.subscribeAsync('q/#', { qos: 2 });
    await sub.endAsync();
    const pub = await connect(port, { clientId: 'pub', protocolVersion });
    await pub.publishAsync('q/1', 'one', { qos: 1 });
    await pub.publishAsync('q/2', Buffer.from([0, 255, 1]), { qos: 2 });
    await pub.publishAsync('state', 'kept', { qos: 1, retain: true });
    await pub.endAsync();
    await broker.close();
    await store.close();

    ({ broker, port, store } = await start(prefix));
    const received: [string, string][] = [];
    // Listening before the CONNACK: the queued messages follow it at once.
    const again = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, clientId: 'sub', protocolVersion, ...session });
    const all = new Promise<void>((resolve) => {
      again.on('message', (topic, payload) => {
        received.push([topic, payload.toString('hex')]);
        if (received.length === 3) resolve();
      });
    });
    await new Promise((resolve, reject) => again.once('connect', resolve).once('error', reject));
    // The subscription came back from Redis with the session: a new retained message reaches it.
    await again.subscribeAsync('state', { qos: 1 });
    await all;
    // (MQTT.js hands a QoS 2 message over after PUBREL, so the order of arrival is not checked.)
    expect(received.sort()).toEqual([
      ['q/1', Buffer.from('one').toString('hex')],
      ['q/2', '00ff01'],
      ['state', Buffer.from('kept').toString('hex')],
    ]);
    await again.endAsync();
    await broker.close();
    await store.close();
  });
}
