/**
 * A 5.0 client against a broker that does not speak 5.0: a 3.1.1 broker answers the
 * CONNECT with a 3.1.1 CONNACK (return code 1), which is not a valid 5.0 packet. The
 * client reports a refusal of the protocol level (0x84) saying what to do, and with
 * protocolVersion 'auto' it tries 3.1.1 at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectError, connect, type MqttClient } from '../src/node.js';
import { FakeServer } from './helpers/fake-server.js';

const servers: FakeServer[] = [];
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: Parameters<typeof connect>[1]) {
  const s = await new FakeServer().listen();
  servers.push(s);
  const c = connect(s.url, { reconnect: { initialDelay: 20, maxDelay: 50, jitter: 0 }, ...options });
  const errors: Error[] = [];
  c.on('error', (e) => errors.push(e));
  clients.push(c);
  return { s, c, errors };
}

/** What Aedes and other 3.1.1-only brokers send to a 5.0 CONNECT. */
const LEGACY_REFUSAL = Buffer.from([0x20, 0x02, 0x00, 0x01]);

describe('a broker that refuses MQTT 5.0', () => {
  it('a 3.1.1 CONNACK refusal read as 5.0 is ConnectError 0x84 that suggests 3.1.1, not a malformed packet', async () => {
    const { s, c, errors } = await start({ protocolVersion: 5 });
    const conn = await s.connection(1);
    await conn.expect('connect');
    conn.socket.write(LEGACY_REFUSAL);
    const error = await c.connected().catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).reasonCode).toBe(0x84);
    expect((error as ConnectError).message).toContain('does not accept MQTT 5.0; use protocolVersion 4');
    expect(errors).toEqual([error]);
    expect(c.state.status).toBe('closed');
  });

  it("protocolVersion 'auto' tries 5.0, then 3.1.1 when the broker answers like a 3.1.1 broker", async () => {
    const { s, c, errors } = await start({ protocolVersion: 'auto' });
    const first = await s.connection(1);
    expect((await first.expect('connect')).protocolVersion).toBe(5);
    first.socket.write(LEGACY_REFUSAL);
    const second = await s.connection(2);
    expect((await second.expect('connect')).protocolVersion).toBe(4);
    await second.accept();
    await c.connected();
    expect(c.protocolVersion).toBe(4);
    expect(errors).toEqual([]);
  });

  it("protocolVersion 'auto' also falls back on a 5.0 CONNACK 0x84 Unsupported Protocol Version", async () => {
    const { s, c } = await start({ protocolVersion: 'auto' });
    const first = await s.connection(1);
    await first.expect('connect');
    first.send({ type: 'connack', sessionPresent: false, reasonCode: 0x84 });
    const second = await s.connection(2);
    expect((await second.expect('connect')).protocolVersion).toBe(4);
    await second.accept();
    await c.connected();
    expect(c.protocolVersion).toBe(4);
  });
});
