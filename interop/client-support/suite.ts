/**
 * The client acceptance suite, run once per broker target and per transport (TCP, TLS,
 * WebSocket): QoS 0/1/2 round trips, retained, will, persistent session resume,
 * reconnect across a broker restart with no QoS 1 message lost.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ClientOptions, connect, connectAsync, type MqttClient } from '../../packages/client/src/node.js';

export type TransportName = 'tcp' | 'tls' | 'ws';

export interface BrokerTarget {
  name: string;
  start(): Promise<void>;
  dispose(): Promise<void>;
  /** URL per transport, or a string explaining why the transport is skipped. */
  url(transport: TransportName): string | { skip: string };
  /** Options every client needs (e.g. the CA for TLS). */
  clientOptions?(transport: TransportName): ClientOptions;
  /** Stop the broker and start it again on the same ports, sessions kept; absent = skip. */
  restart?(): Promise<void>;
}

const text = new TextDecoder();
let seq = 0;
const uid = (name: string) => `${name}-${process.pid}-${++seq}`;

function collect(client: MqttClient): { topic: string; payload: string; retain: boolean; qos: number }[] {
  const got: { topic: string; payload: string; retain: boolean; qos: number }[] = [];
  client.on('message', (topic, payload, packet) => {
    got.push({ topic, payload: text.decode(payload), retain: packet.retain, qos: packet.qos });
  });
  return got;
}

async function until(check: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function clientSuite(target: BrokerTarget, versions: (4 | 5)[] = [5, 4]): void {
  describe(`client against ${target.name}`, () => {
    const clients: MqttClient[] = [];
    beforeAll(() => target.start());
    afterAll(() => target.dispose());
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
    });

    for (const transport of ['tcp', 'tls', 'ws'] as const) {
      for (const protocolVersion of versions) {
        describe(`${transport} MQTT ${protocolVersion === 5 ? '5.0' : '3.1.1'}`, () => {
          const u = () => target.url(transport);
          const skip = typeof target.url(transport) !== 'string' ? (target.url(transport) as { skip: string }).skip : '';
          const open = async (options: ClientOptions = {}) => {
            const client = await connectAsync(u() as string, {
              protocolVersion,
              reconnect: { initialDelay: 100, maxDelay: 500 },
              ...target.clientOptions?.(transport),
              ...options,
            });
            clients.push(client);
            return client;
          };
          const test = skip ? it.skip : it;
          if (skip) it.skip(`skipped: ${skip}`, () => {});

          test('QoS 0, 1 and 2 round trips; strings, Uint8Array and Buffer payloads', async () => {
            const topic = uid('rt');
            const sub = await open();
            const got = collect(sub);
            const grants = await sub.subscribe(`${topic}/#`, { qos: 2 });
            expect(grants).toEqual([{ filter: `${topic}/#`, qos: 2 }]);
            const pub = await open();
            await pub.publish(`${topic}/0`, 'こんにちは、世界 🌸', { qos: 0 });
            const ack1 = await pub.publish(`${topic}/1`, new Uint8Array([0xe6, 0x97, 0xa5]), { qos: 1 });
            expect(ack1?.type).toBe('puback');
            const ack2 = await pub.publish(`${topic}/2`, Buffer.from('二'), { qos: 2 });
            expect(ack2?.type).toBe('pubcomp');
            await until(() => got.length === 3);
            expect(got.sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
              { topic: `${topic}/0`, payload: 'こんにちは、世界 🌸', retain: false, qos: 0 },
              { topic: `${topic}/1`, payload: '日', retain: false, qos: 1 },
              { topic: `${topic}/2`, payload: '二', retain: false, qos: 2 },
            ]);
          });

          test('retained message is delivered to a later subscriber with retain set, then cleared', async () => {
            const topic = uid('retain');
            const pub = await open();
            await pub.publish(topic, '保持', { qos: 1, retain: true });
            const sub = await open();
            const got = collect(sub);
            await sub.subscribe(topic, { qos: 1 });
            await until(() => got.length === 1);
            expect(got[0]).toEqual({ topic, payload: '保持', retain: true, qos: 1 });
            await pub.publish(topic, '', { qos: 1, retain: true });
            const late = await open();
            const none = collect(late);
            await late.subscribe(topic, { qos: 1 });
            await pub.publish(`${topic}/x`, 'marker', { qos: 1 });
            await new Promise((r) => setTimeout(r, 100));
            expect(none).toEqual([]);
          });

          test('will is published when the transport dies without DISCONNECT', async () => {
            const topic = uid('will');
            const watcher = await open();
            const got = collect(watcher);
            await watcher.subscribe(topic, { qos: 1 });
            const dying = await open({ will: { topic, payload: '遺言', qos: 1 } });
            const graceful = await open({ will: { topic, payload: 'not this one', qos: 1 } });
            await graceful.end();
            await dying.end({ force: true });
            await until(() => got.length === 1);
            expect(got[0]).toMatchObject({ topic, payload: '遺言' });
          });

          test('persistent session: messages published while away arrive on resume', async () => {
            const topic = uid('session');
            const clientId = uid('persist');
            const first = await open({ clientId, clean: false });
            await first.subscribe(topic, { qos: 1 });
            await first.end();
            const pub = await open();
            for (let i = 0; i < 3; i++) await pub.publish(topic, `m${i}`, { qos: 1 });
            const again = connect(u() as string, {
              protocolVersion,
              clientId,
              clean: false,
              ...target.clientOptions?.(transport),
            });
            clients.push(again);
            const got = collect(again);
            const connack = await again.connected();
            expect(connack.sessionPresent).toBe(true);
            await until(() => got.length === 3);
            expect(got.map((m) => m.payload)).toEqual(['m0', 'm1', 'm2']);
          });

          const restartTest = target.restart ? test : it.skip;
          restartTest(
            'reconnects after a broker restart; no QoS 1/2 message lost, no QoS 2 message twice',
            { timeout: 60_000 },
            async () => {
              const topic = uid('restart');
              const sub = await open({ clientId: uid('rsub'), clean: false });
              const received: string[] = [];
              sub.on('message', (_t, p) => received.push(text.decode(p)));
              await sub.subscribe(topic, { qos: 2 });
              const pub = await open({ clientId: uid('rpub'), clean: false });
              const reconnected = new Promise<void>((resolve) => sub.once('reconnect', resolve));
              const acks: Promise<unknown>[] = [];
              const total = 60;
              const name = (i: number) => `n${i}-q${1 + (i % 2)}`;
              for (let i = 0; i < total; i++) {
                acks.push(pub.publish(topic, name(i), { qos: (1 + (i % 2)) as 1 | 2 }));
                if (i === 20) void target.restart!();
                await new Promise((r) => setTimeout(r, 25));
              }
              await Promise.all(acks);
              await reconnected;
              await until(() => new Set(received).size === total, 20_000);
              expect([...new Set(received)].sort()).toEqual(Array.from({ length: total }, (_, i) => name(i)).sort());
              const qos2 = received.filter((m) => m.endsWith('-q2'));
              expect(qos2.length).toBe(new Set(qos2).size); // exactly once
            },
          );
        });
      }
    }
  });
}
