/** Pure pieces: the connection state machine, backoff, URL resolution, payloads, errors. */
import { describe, expect, it } from 'vitest';
import { backoffDelay, reconnectPolicy } from '../src/backoff.js';
import { type ConnectionState, InvalidTransitionError, transition } from '../src/connection-state.js';
import { ConnectError, SubscribeError } from '../src/errors.js';
import { redirectTarget, resolveTarget } from '../src/options.js';
import { toBytes } from '../src/payload.js';

describe('connection state transitions', () => {
  const connecting: ConnectionState = { status: 'connecting', attempt: 0 };
  it('connecting → connected on CONNACK, → offline on loss with retry, attempts counted', () => {
    const up = transition(connecting, { type: 'connack', sessionPresent: true });
    expect(up).toEqual({ status: 'connected', sessionPresent: true });
    const off = transition(up, { type: 'lost', retry: true });
    expect(off).toEqual({ status: 'offline', attempt: 1 });
    const again = transition(off, { type: 'retry' });
    expect(again).toEqual({ status: 'connecting', attempt: 1 });
    expect(transition(again, { type: 'lost', retry: true })).toEqual({ status: 'offline', attempt: 2 });
  });
  it('loss without retry closes with the error; end → disconnecting → closed', () => {
    const error = new Error('x');
    expect(transition(connecting, { type: 'lost', retry: false, error })).toEqual({ status: 'closed', error });
    const d = transition({ status: 'offline', attempt: 3 }, { type: 'end' });
    expect(d).toEqual({ status: 'disconnecting' });
    expect(transition(d, { type: 'lost', retry: true })).toBe(d);
    expect(transition(d, { type: 'closed' })).toEqual({ status: 'closed' });
  });
  it('transitions the diagram does not have throw', () => {
    expect(() => transition({ status: 'connected', sessionPresent: false }, { type: 'connack', sessionPresent: false })).toThrow(
      InvalidTransitionError,
    );
    expect(() => transition({ status: 'closed' }, { type: 'retry' })).toThrow(InvalidTransitionError);
    expect(() => transition(connecting, { type: 'retry' })).toThrow(InvalidTransitionError);
  });
});

describe('reconnect backoff', () => {
  const policy = reconnectPolicy({ initialDelay: 100, maxDelay: 1000, factor: 2, jitter: 0.5 })!;
  it('grows exponentially up to maxDelay; jitter takes off up to half', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(policy, a, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(policy, 3, () => 1)).toBe(200);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(300);
  });
  it('false disables reconnection', () => {
    expect(reconnectPolicy(false)).toBeNull();
    expect(reconnectPolicy(undefined)).toMatchObject({ initialDelay: 1000, maxDelay: 30_000 });
  });
});

describe('addresses', () => {
  it('resolves the four schemes with default ports and credentials from the URL', () => {
    expect(resolveTarget('mqtt://u:p%40ss@example.com').target).toEqual({
      protocol: 'mqtt', host: 'example.com', port: 1883, path: '/mqtt',
    });
    expect(resolveTarget('mqtt://u:p%40ss@example.com')).toMatchObject({ username: 'u', password: 'p@ss' });
    expect(resolveTarget('mqtts://h').target.port).toBe(8883);
    expect(resolveTarget('ws://h').target).toMatchObject({ port: 80, path: '/mqtt' });
    expect(resolveTarget('wss://h:9001/custom').target).toMatchObject({ port: 9001, path: '/custom' });
    expect(resolveTarget('tcp://[::1]:1884').target).toMatchObject({ protocol: 'mqtt', host: '::1', port: 1884 });
    expect(resolveTarget({ host: 'h', port: 1, protocol: 'wss' }).target).toEqual({
      protocol: 'wss', host: 'h', port: 1, path: '/mqtt',
    });
    expect(() => resolveTarget('http://h')).toThrow(/unsupported protocol/);
  });
  it('Server Reference: host, host:port, first of several', () => {
    const t = resolveTarget('mqtt://a:1883').target;
    expect(redirectTarget(t, 'b')).toMatchObject({ host: 'b', port: 1883 });
    expect(redirectTarget(t, 'c:2000 d:3000')).toMatchObject({ host: 'c', port: 2000 });
    expect(redirectTarget(t, '[::1]:5')).toMatchObject({ host: '::1', port: 5 });
    expect(redirectTarget(t, '')).toBeUndefined();
  });
});

describe('payloads and error messages', () => {
  it('Japanese text is UTF-8 encoded exactly; bytes pass through', () => {
    expect([...toBytes('日本')]).toEqual([0xe6, 0x97, 0xa5, 0xe6, 0x9c, 0xac]);
    const b = Buffer.from([1, 2]);
    expect(toBytes(b)).toBe(b);
    expect(toBytes(null).length).toBe(0);
    expect(() => toBytes(42 as never)).toThrow(TypeError);
  });
  it('errors carry the reason codes', () => {
    expect(new ConnectError(0x86, 5).message).toBe('Connection refused: Bad User Name or Password (0x86)');
    expect(new ConnectError(4, 4).message).toBe('Connection refused: bad user name or password (4)');
    const e = new SubscribeError(['a', 'b'], [0, 0x8f]);
    expect(e.reasonCode).toBe(0x8f);
    expect(e.message).toBe("Subscribe to 'b' refused: Topic Filter invalid (0x8f)");
  });
});

describe('browser entry in an environment without the transport', () => {
  it('mqtt:// through @hato/client closes with a hint to use the Node entry', async () => {
    const { connect } = await import('../src/index.js');
    const client = connect('mqtt://127.0.0.1:1', { reconnect: false });
    const err = await client.connected().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/no transport for mqtt:\/\/.*@hato\/client\/node/);
    expect(client.state.status).toBe('closed');
  });
});
