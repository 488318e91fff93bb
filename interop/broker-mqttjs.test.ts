// Interop: MQTT.js (devDependency `mqtt`) against hato's broker over TCP and WebSocket, for
// MQTT 3.1.1 and 5.0: QoS 0/1/2 round trips, retained, will of a killed client, persistent
// session catching up, and 1:1, 1:N, N:1, N:N.
import { startBroker, type BrokerUnderTest } from '@hato/testkit';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

type Transport = 'tcp' | 'ws';
const cases: Array<[Transport, 4 | 5]> = [
  ['tcp', 4],
  ['tcp', 5],
  ['ws', 4],
  ['ws', 5],
];

function collect(client: MqttClient) {
  const got: Array<{ topic: string; payload: string; qos: number; retain: boolean }> = [];
  client.on('message', (topic, payload, packet) => {
    got.push({ topic, payload: payload.toString('utf8'), qos: packet.qos, retain: packet.retain });
  });
  const waitFor = async (n: number, ms = 10_000) => {
    const end = Date.now() + ms;
    while (got.length < n) {
      if (Date.now() > end) throw new Error(`got ${got.length}/${n}: ${JSON.stringify(got)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return got;
  };
  return { got, waitFor };
}

describe.each(cases)('MQTT.js over %s, protocol %i, against hato', (transport, protocolVersion) => {
  let broker: BrokerUnderTest;
  const clients: MqttClient[] = [];
  const url = () =>
    transport === 'tcp' ? `mqtt://127.0.0.1:${broker.port}` : `ws://127.0.0.1:${broker.wsPort}/mqtt`;
  const open = async (opts: IClientOptions = {}) => {
    const c = await mqtt.connectAsync(url(), { protocolVersion, reconnectPeriod: 0, ...opts });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    broker = await startBroker();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await broker.close();
  });

  for (const qos of [0, 1, 2] as const) {
    it(`QoS ${qos} round trip 1:1, payload bytes exact`, async () => {
      const sub = await open();
      const { waitFor } = collect(sub);
      const granted = await sub.subscribeAsync('js/qos', { qos });
      expect(granted[0]?.qos).toBe(qos);
      const pub = await open();
      await pub.publishAsync('js/qos', 'こんにちわ', { qos });
      const got = await waitFor(1);
      expect(got).toEqual([{ topic: 'js/qos', payload: 'こんにちわ', qos, retain: false }]);
    });
  }

  it('retained: later subscriber gets it with retain set; empty payload deletes it', async () => {
    const pub = await open();
    await pub.publishAsync('js/retained/a', 'r1', { qos: 1, retain: true });
    const sub = await open();
    const { waitFor, got } = collect(sub);
    await sub.subscribeAsync('js/retained/+', { qos: 1 });
    expect(await waitFor(1)).toEqual([{ topic: 'js/retained/a', payload: 'r1', qos: 1, retain: true }]);
    await pub.publishAsync('js/retained/a', '', { qos: 1, retain: true });
    const late = await open();
    const lateMsgs = collect(late);
    await late.subscribeAsync('js/retained/+', { qos: 1 });
    await pub.publishAsync('js/retained/marker', 'm', { qos: 1 });
    expect(await lateMsgs.waitFor(1)).toEqual([{ topic: 'js/retained/marker', payload: 'm', qos: 1, retain: false }]);
    // the live subscriber got the deletion (empty payload) and the marker without the retain flag
    await waitFor(3);
    expect(got.slice(1).map((m) => m.retain)).toEqual([false, false]);
  });

  it('will of a killed client is published with its QoS and retain', async () => {
    const watcher = await open();
    const { waitFor } = collect(watcher);
    await watcher.subscribeAsync('js/will/#', { qos: 1 });
    const doomed = await open({ will: { topic: 'js/will/x', payload: Buffer.from('gone'), qos: 1, retain: true } });
    (doomed.stream as unknown as { destroy(): void }).destroy();
    expect(await waitFor(1)).toEqual([{ topic: 'js/will/x', payload: 'gone', qos: 1, retain: false }]);
    const later = await open();
    const retained = collect(later);
    await later.subscribeAsync('js/will/x', { qos: 1 });
    expect(await retained.waitFor(1)).toEqual([{ topic: 'js/will/x', payload: 'gone', qos: 1, retain: true }]);
  });

  it('persistent session catches up after reconnect, in order', async () => {
    const clientId = `js-persist-${transport}-${protocolVersion}`;
    const session = protocolVersion === 5 ? { properties: { sessionExpiryInterval: 300 } } : {};
    const first = await open({ clientId, clean: false, ...session });
    await first.subscribeAsync('js/persist', { qos: 1 });
    await first.endAsync();
    const pub = await open();
    for (let i = 1; i <= 5; i++) await pub.publishAsync('js/persist', `m${i}`, { qos: 1 });
    const again = mqtt.connect(url(), { protocolVersion, reconnectPeriod: 0, clientId, clean: false, ...session });
    clients.push(again);
    const { waitFor } = collect(again);
    const got = await waitFor(5);
    expect(got.map((m) => m.payload)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('1:N, N:1 and N:N', async () => {
    const subs = await Promise.all([1, 2, 3].map(() => open()));
    const inboxes = subs.map((s) => collect(s));
    await Promise.all(subs.map((s) => s.subscribeAsync('js/nn/#', { qos: 1 })));
    const pubs = await Promise.all([1, 2, 3].map(() => open()));
    await Promise.all(pubs.map((p, i) => Promise.all([1, 2, 3].map((m) => p.publishAsync(`js/nn/${i}`, `${m}`, { qos: 1 })))));
    for (const inbox of inboxes) {
      const got = await inbox.waitFor(9);
      for (const i of [0, 1, 2]) {
        expect(got.filter((m) => m.topic === `js/nn/${i}`).map((m) => m.payload)).toEqual(['1', '2', '3']);
      }
    }
  });
});
