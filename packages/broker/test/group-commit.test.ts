/**
 * Write-through with group commit [DESIGN: Durable state]: acks that follow a change of durable
 * state leave only once the commit holding it is done. A Persistence whose commits wait for
 * the test shows it.
 */
import * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryPersistence, type PersistenceChange } from '../src/index.js';
import { delay, RawClient, startBroker, type TestBroker, waitFor } from './helpers.js';

/** Commits wait until `open()`; every batch is kept. */
class GatedPersistence extends MemoryPersistence {
  readonly batches: PersistenceChange[][] = [];
  private gate: Promise<void> | undefined;
  private release: (() => void) | undefined;
  fail = false;

  close(): void {
    this.open();
  }

  shut(): void {
    this.gate ??= new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
    this.gate = undefined;
  }

  override commit(batch: readonly PersistenceChange[]): Promise<void> {
    this.batches.push([...batch]);
    const gate = this.gate ?? Promise.resolve();
    return gate.then(() => {
      if (this.fail) throw new Error('disk on fire');
      super.commit(batch);
    });
  }
}

let b: TestBroker | undefined;
afterEach(async () => {
  await b?.close();
  b = undefined;
});

const ops = (store: GatedPersistence): string[] => store.batches.flat().map((change) => change.op);
const has = (client: RawClient, cmd: string): boolean => client.packets.some((packet) => packet.cmd === cmd);

async function offlineSubscriber(port: number): Promise<void> {
  const { client } = await RawClient.connect(port, { clientId: 'durable', clean: false });
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'gc/#', qos: 2 }] });
  await client.next('suback');
  client.send({ cmd: 'disconnect' });
  await client.waitClosed();
}

describe('group commit', () => {
  it('a QoS 1 message for an offline persistent session is acknowledged only once the commit that stores it is done', async () => {
    const store = new GatedPersistence();
    b = await startBroker({ persistence: store });
    await offlineSubscriber(b.port);
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'pub' });
    store.shut();
    pub.send({ cmd: 'publish', topic: 'gc/1', payload: Buffer.from('m'), qos: 1, retain: false, dup: false, messageId: 5 });
    await waitFor(() => store.batches.flat().some((c) => c.op === 'message' && c.clientId === 'durable'));
    await delay(100);
    expect(has(pub, 'puback')).toBe(false);
    store.open();
    expect(((await pub.next('puback')) as mqttPacket.IPubackPacket).messageId).toBe(5);
    pub.destroy();
  });

  it('one commit per event-loop turn: 50 QoS 1 PUBLISH in one write make one batch and 50 PUBACKs after it', async () => {
    const store = new GatedPersistence();
    b = await startBroker({ persistence: store });
    await offlineSubscriber(b.port);
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'pub' });
    await delay(50);
    const before = store.batches.length;
    const packets = Array.from({ length: 50 }, (_, i) =>
      mqttGenerate({ cmd: 'publish', topic: `gc/${i}`, payload: Buffer.from(String(i)), qos: 1, retain: false, dup: false, messageId: i + 1 }),
    );
    pub.sendBytes(Buffer.concat(packets));
    for (let i = 1; i <= 50; i++) expect(((await pub.next('puback')) as mqttPacket.IPubackPacket).messageId).toBe(i);
    const batches = store.batches.slice(before);
    expect(batches.length).toBe(1);
    expect(batches[0]!.filter((c) => c.op === 'message').length).toBe(50);
    pub.destroy();
  });

  it('without persistent sessions nothing is recorded and acks go at once (the clean path)', async () => {
    const store = new GatedPersistence();
    b = await startBroker({ persistence: store });
    store.shut();
    const { client: sub } = await RawClient.connect(b.port, { clientId: 'clean-sub' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'c/#', qos: 2 }] });
    await sub.next('suback');
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'clean-pub' });
    pub.send({ cmd: 'publish', topic: 'c/1', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, messageId: 1 });
    await pub.next('puback');
    pub.send({ cmd: 'publish', topic: 'c/2', payload: Buffer.from('y'), qos: 2, retain: false, dup: false, messageId: 2 });
    await pub.next('pubrec');
    pub.send({ cmd: 'pubrel', messageId: 2 });
    await pub.next('pubcomp');
    expect(store.batches).toEqual([]);
    pub.destroy();
    sub.destroy();
  });

  it('QoS 2 from a persistent session: PUBREC after the id is stored, PUBCOMP after its release is', async () => {
    const store = new GatedPersistence();
    b = await startBroker({ persistence: store });
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'pub2', clean: false });
    await waitFor(() => ops(store).includes('session'));
    store.shut();
    pub.send({ cmd: 'publish', topic: 'q2', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, messageId: 9 });
    await waitFor(() => ops(store).includes('qos2-received'));
    await delay(50);
    expect(has(pub, 'pubrec')).toBe(false);
    store.open();
    await pub.next('pubrec');
    store.shut();
    pub.send({ cmd: 'pubrel', messageId: 9 });
    await waitFor(() => ops(store).includes('qos2-released'));
    await delay(50);
    expect(has(pub, 'pubcomp')).toBe(false);
    store.open();
    await pub.next('pubcomp');
    pub.destroy();
  });

  it('a commit that fails: the waiting publisher is closed without its PUBACK, counted, the broker serves on', async () => {
    const store = new GatedPersistence();
    b = await startBroker({ persistence: store });
    await offlineSubscriber(b.port);
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'pub' });
    store.fail = true;
    pub.send({ cmd: 'publish', topic: 'gc/lost', payload: Buffer.from('m'), qos: 1, retain: false, dup: false, messageId: 3 });
    await pub.waitClosed();
    expect(has(pub, 'puback')).toBe(false);
    expect(b.broker.metrics.persistenceErrors).toBe(1);
    store.fail = false;
    const { client: again } = await RawClient.connect(b.port, { clientId: 'pub' });
    again.send({ cmd: 'publish', topic: 'gc/again', payload: Buffer.from('m'), qos: 1, retain: false, dup: false, messageId: 3 });
    await again.next('puback');
    again.destroy();
  });

  it('a failure confined to one session fails only the acks that depend on it, not the others sharing the batch', async () => {
    /** Refuses every commit that holds a change of client 'bad' (as a store refusing one value would). */
    class RefusingPersistence extends GatedPersistence {
      override commit(batch: readonly PersistenceChange[]): Promise<void> {
        if (batch.some((change) => 'clientId' in change && change.clientId === 'bad')) {
          this.batches.push([...batch]);
          return Promise.reject(new Error('value refused'));
        }
        return super.commit(batch);
      }
    }
    const store = new RefusingPersistence();
    b = await startBroker({ persistence: store });
    await offlineSubscriber(b.port);
    const { client: bad } = await RawClient.connect(b.port, { clientId: 'bad', clean: false });
    store.fail = false;
    bad.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bad/#', qos: 1 }] });
    await bad.next('suback').catch(() => undefined);
    bad.destroy();
    await waitFor(() => b!.broker.sessions.get('bad')?.connection === undefined);
    const { client: bp } = await RawClient.connect(b.port, { clientId: 'bp' });
    const { client: hp } = await RawClient.connect(b.port, { clientId: 'hp' });
    const { client: np } = await RawClient.connect(b.port, { clientId: 'np' });
    store.shut();
    bp.send({ cmd: 'publish', topic: 'bad/x', payload: Buffer.from('m'), qos: 1, retain: false, dup: false, messageId: 1 });
    hp.send({ cmd: 'publish', topic: 'gc/x', payload: Buffer.from('m'), qos: 1, retain: false, dup: false, messageId: 2 });
    await waitFor(() => ops(store).filter((op) => op === 'message').length >= 2);
    // No subscriber: nothing of np's is recorded, but the journal is busy, so its ack waits too.
    np.send({ cmd: 'publish', topic: 'nobody/x', payload: Buffer.from('m'), qos: 1, retain: false, dup: false, messageId: 3 });
    await delay(50);
    expect(has(hp, 'puback') || has(np, 'puback')).toBe(false);
    const errors = b.broker.metrics.persistenceErrors;
    store.open();
    await bp.waitClosed();
    expect(has(bp, 'puback')).toBe(false);
    await hp.next('puback');
    await np.next('puback');
    expect(b.broker.metrics.persistenceErrors).toBeGreaterThan(errors);
    // What hp published is stored for the offline 'durable' session: it gets it on reconnect.
    const { client: durable } = await RawClient.connect(b.port, { clientId: 'durable', clean: false });
    const delivered = (await durable.next('publish')) as mqttPacket.IPublishPacket;
    expect(delivered.topic).toBe('gc/x');
    durable.destroy();
    hp.destroy();
    np.destroy();
  });
});

function mqttGenerate(packet: mqttPacket.Packet): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: 4 });
}
