import type * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, RawClient, startBroker, type TestBroker, waitFor } from './helpers.js';

let b: TestBroker | undefined;
afterEach(async () => {
  await b?.close();
  b = undefined;
});

async function subscriber(port: number, clientId: string, topic: string): Promise<RawClient> {
  const { client } = await RawClient.connect(port, { clientId });
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
  await client.next('suback');
  return client;
}

function publish(client: RawClient, topic: string, i: number): void {
  client.send({ cmd: 'publish', topic, payload: Buffer.from(String(i)), qos: 1, messageId: i + 1, retain: false, dup: false });
}

function pubacks(client: RawClient): number[] {
  return client.packets.filter((p) => p.cmd === 'puback').map((p) => (p as mqttPacket.IPubackPacket).messageId!);
}

describe('publisher flow control (QoS 1 into the queue of an online subscriber)', () => {
  it('a publisher with an in-flight window that outruns an acknowledging subscriber loses nothing: its PUBACKs wait', async () => {
    b = await startBroker({ maxQueuedMessages: 20, maxInflightMessages: 2 });
    const sub = await subscriber(b.port, 'fc-sub', 'fc');
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'fc-pub' });
    const total = 300;
    const window = 8;
    const publisher = async () => {
      let sent = 0;
      while (sent < total) {
        const acked = pubacks(pub).length;
        while (sent < total && sent - acked < window) publish(pub, 'fc', sent++);
        await delay(1);
      }
    };
    const got: string[] = [];
    const consumer = async () => {
      while (got.length < total) {
        const p = (await sub.next('publish', 5000)) as mqttPacket.IPublishPacket;
        got.push(p.payload.toString());
        sub.send({ cmd: 'puback', messageId: p.messageId! });
      }
    };
    await Promise.all([publisher(), consumer()]);
    expect(got).toEqual(Array.from({ length: total }, (_, i) => String(i)));
    expect(b.broker.delivery.dropped).toBe(0);
    await waitFor(() => pubacks(pub).length === total);
    // [MQTT-4.6.0-2] held PUBACKs still go out in the order of the PUBLISH packets.
    expect(pubacks(pub)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    pub.destroy();
    sub.destroy();
  });

  it('a subscriber that never acknowledges holds the PUBACKs for a bounded time only; then the queue bound applies', async () => {
    b = await startBroker({ maxQueuedMessages: 10, maxInflightMessages: 2 });
    const sub = await subscriber(b.port, 'stuck-sub', 'stuck');
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'stuck-pub' });
    const total = 40;
    for (let i = 0; i < total; i++) publish(pub, 'stuck', i);
    await waitFor(() => pubacks(pub).length === total, 5000);
    expect(pubacks(pub)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // 2 in flight, 10 queued, the rest dropped by the queue policy.
    expect(sub.packets.filter((p) => p.cmd === 'publish').length).toBe(2);
    expect(b.broker.sessions.get('stuck-sub')!.queueLength).toBe(10);
    expect(b.broker.delivery.dropped).toBe(total - 12);
    pub.destroy();
    sub.destroy();
  });
});
