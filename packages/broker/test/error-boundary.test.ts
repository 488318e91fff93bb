/**
 * The connection is the unit of failure: whatever a hook, an event listener, the persistence
 * or the encoder throws while serving one client ends that client's connection (5.0:
 * DISCONNECT 0x83 / CONNACK 0x83), is counted in `broker.metrics`, and never reaches the
 * process. Each case checks that a bystander keeps getting messages afterwards.
 */
import { connectAndHandshake, connect as connectBytes, RawClient, subscribe, waitUntil } from '@hato/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker, type BrokerOptions, MemoryPersistence } from '../src/index.js';

let broker: Broker | undefined;
afterEach(async () => {
  RawClient.destroyAll();
  await broker?.close();
  broker = undefined;
});

async function start(options: BrokerOptions = {}): Promise<number> {
  broker = new Broker(options);
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  return port;
}

/** A bystander subscribed to `topic` still gets a QoS 1 message published by a fresh client. */
async function stillServes(port: number, topic = 'alive'): Promise<void> {
  const bystander = await connectAndHandshake(port, { version: 5, clientId: 'bystander' });
  await bystander.subscribe(topic, { qos: 1 });
  const pub = await connectAndHandshake(port, { version: 4, clientId: 'healthy-pub' });
  await pub.publishAcked({ topic, payload: 'still here', qos: 1 });
  const msg = await bystander.expectPacket('publish');
  expect(msg.text).toBe('still here');
  bystander.destroy();
  pub.destroy();
}

function boom(): never {
  throw new Error('boom');
}

describe('error boundary: one connection fails, nothing else', () => {
  it('a second CONNECT with protocol level 9 closes with DISCONNECT 0x82, not a crash (regression) [MQTT-3.1.0-2]', async () => {
    const port = await start();
    const c = await connectAndHandshake(port, { version: 5, clientId: 'twice' });
    c.send(connectBytes({ version: 5, clientId: 'twice', protocolLevel: 9 }));
    const d = await c.expectPacket('disconnect');
    expect(d.reasonCode).toBe(0x82);
    await c.expectClose();
    expect(broker!.metrics.connectionErrors).toBe(1);
    await stillServes(port);
  });

  it('an authenticate hook that throws refuses with CONNACK 0x83 (5.0) and closes (3.1.1)', async () => {
    const port = await start({ hooks: { authenticate: (client) => (client.id.startsWith('bad') ? boom() : true) } });
    const c5 = await RawClient.connect(port, { version: 5 });
    c5.send(connectBytes({ version: 5, clientId: 'bad5' }));
    expect((await c5.expectPacket('connack')).reasonCode).toBe(0x83);
    await c5.expectClose();
    const c4 = await RawClient.connect(port, { version: 4 });
    c4.send(connectBytes({ version: 4, clientId: 'bad4' }));
    expect(await c4.expectClose()).toEqual([]);
    expect(broker!.metrics.internalErrors).toBe(2);
    await stillServes(port);
  });

  it('an async authorizePublish hook that rejects closes that publisher with DISCONNECT 0x83', async () => {
    const port = await start({ hooks: { authorizePublish: async (_c, packet) => (packet.topic === 'poison' ? Promise.reject(new Error('store down')) : true) } });
    const c = await connectAndHandshake(port, { version: 5, clientId: 'poisoner' });
    c.publish({ topic: 'poison', payload: 'x', qos: 1, packetId: 1 });
    const d = await c.expectPacket('disconnect');
    expect(d.reasonCode).toBe(0x83);
    await c.expectClose();
    expect(broker!.metrics.internalErrors).toBe(1);
    await stillServes(port);
  });

  it('a sync authorizeSubscribe hook that throws closes that subscriber only', async () => {
    const port = await start({ hooks: { authorizeSubscribe: (_c, sub) => (sub.topicFilter === 'poison/#' ? boom() : true) } });
    const c = await connectAndHandshake(port, { version: 5, clientId: 'sub-poisoner' });
    c.send(subscribe({ version: 5, packetId: 1, subscriptions: [{ filter: 'poison/#', qos: 1 }] }));
    expect((await c.expectPacket('disconnect')).reasonCode).toBe(0x83);
    await c.expectClose();
    await stillServes(port);
  });

  it('a `published` listener that throws closes the publisher, and the subscribers still got the message', async () => {
    const port = await start();
    const sub = await connectAndHandshake(port, { version: 4, clientId: 'listener-sub' });
    await sub.subscribe('t', { qos: 0 });
    broker!.on('published', (packet) => {
      if (packet.topic === 't') boom();
    });
    const pub = await connectAndHandshake(port, { version: 5, clientId: 'listener-pub' });
    pub.publish({ topic: 't', payload: 'm' });
    expect((await sub.expectPacket('publish')).text).toBe('m');
    expect((await pub.expectPacket('disconnect')).reasonCode).toBe(0x83);
    await pub.expectClose();
    await stillServes(port);
  });

  it('a `clientError` listener that throws still lets the bad connection close', async () => {
    const port = await start();
    broker!.on('clientError', boom);
    const c = await connectAndHandshake(port, { version: 5, clientId: 'noisy' });
    c.send(Uint8Array.of(0x60, 0x02, 0x00, 0x01)); // PUBREL with reserved flags 0000 → malformed
    await c.expectClose();
    expect(broker!.metrics.abortedConnections).toBe(1);
    broker!.off('clientError', boom);
    await stillServes(port);
  });

  it('a persistence adapter that throws synchronously on commit does not take the broker down', async () => {
    const persistence = new MemoryPersistence();
    persistence.commit = boom;
    const port = await start({ persistence });
    const c = await connectAndHandshake(port, { version: 4, clientId: 'persistent', clean: false });
    c.destroy(); // the session is recorded at CONNECT, and again when its connection ends
    await c.expectClose();
    await stillServes(port);
    await broker!.close(); // commits what is left
    expect(broker!.metrics.persistenceErrors).toBeGreaterThanOrEqual(1);
  });

  it('an encoder failure toward one subscriber (a reason string that cannot be encoded) ends only that connection', async () => {
    const port = await start();
    const c = await connectAndHandshake(port, { version: 5, clientId: 'victim' });
    // A packet no encoder accepts, queued toward this client by broker code: a broker bug.
    broker!.sessions.get('victim')!.connection!.send({ type: 'suback', packetId: 0, reasonCodes: [] });
    expect((await c.expectPacket('disconnect')).reasonCode).toBe(0x83);
    await c.expectClose();
    expect(broker!.metrics.internalErrors).toBe(1);
    await stillServes(port);
  });

  it('a chooseSharedMember hook that throws while an expired session hands its queued messages over does not end the process (fuzz finding)', async () => {
    let failing = false;
    const port = await start({
      hooks: {
        chooseSharedMember: (candidates) => {
          if (failing) boom();
          return Math.max(0, candidates.findIndex((c) => c.clientId === 'leaver'));
        },
      },
    });
    const leaver = await connectAndHandshake(port, { version: 5, clientId: 'leaver', properties: [[0x11, 1]] }); // Session Expiry 1 s
    await leaver.subscribe('$share/g/work', { qos: 1 });
    // Both members offline: the hook is offered every member and picks the leaver.
    const stayer = await connectAndHandshake(port, { version: 5, clientId: 'stayer', properties: [[0x11, 600]] });
    await stayer.subscribe('$share/g/work', { qos: 1 });
    stayer.destroy();
    leaver.destroy();
    await waitUntil(() => broker!.sessions.get('leaver')?.connection === undefined && broker!.sessions.get('stayer')?.connection === undefined);
    const pub = await connectAndHandshake(port, { version: 4, clientId: 'work-pub' });
    await pub.publishAcked({ topic: 'work', payload: 'job', qos: 1 });
    expect(broker!.sessions.get('leaver')!.queueLength).toBe(1);
    failing = true;
    // The session expires a second later; handing its message over calls the hook, which throws.
    await waitUntil(() => broker!.sessions.get('leaver') === undefined, 5000);
    expect(broker!.metrics.internalErrors).toBeGreaterThanOrEqual(1);
    failing = false;
    await stillServes(port);
  });
});
