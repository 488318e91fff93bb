/**
 * Shared setup for the conformance suite: one broker per test file, unique names per
 * test, the versions each case runs for, and assertions for "closed with reason".
 */
import {
  type BrokerOptions,
  type BrokerUnderTest,
  type ConnectOptions,
  connectAndHandshake,
  describePacket,
  type MqttVersion,
  Prop,
  RawClient,
  startBroker,
  target,
} from '@hato/testkit';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

export { target };

export interface VersionCase<V extends MqttVersion = MqttVersion> {
  name: string;
  version: V;
}

/** 3.1.1 and 5.0: most cases run for both. */
export const VERSIONS: readonly VersionCase<4 | 5>[] = [
  { name: 'MQTT 3.1.1', version: 4 },
  { name: 'MQTT 5.0', version: 5 },
];

/** 3.1 (MQIsdp), 3.1.1 and 5.0: for CONNECT cases. */
export const ALL_VERSIONS: readonly VersionCase[] = [{ name: 'MQTT 3.1', version: 3 }, ...VERSIONS];

let counter = 0;
/** A name unique to this run and test: client ids and topics never collide across tests. */
export function uid(prefix = 't'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export interface BrokerHandle {
  readonly port: number;
  readonly wsPort: number;
  readonly broker: BrokerUnderTest;
}

/**
 * Starts a broker before the tests of the current file/describe and stops it after.
 * Clients are destroyed after each test, or only at the end with `concurrent: true`
 * (files whose tests run concurrently must not close each other's clients).
 */
/**
 * For tests that need a broker with special options: `brokerWith(options)` starts one, and it
 * is closed (with every raw client) after each test.
 */
export function useExtraBrokers(): (options: BrokerOptions) => Promise<BrokerUnderTest> {
  const extra: BrokerUnderTest[] = [];
  afterEach(async () => {
    RawClient.destroyAll();
    for (const broker of extra.splice(0)) await broker.close();
  });
  return async (options) => {
    const broker = await startBroker(options);
    extra.push(broker);
    return broker;
  };
}

export function useBroker(options: BrokerOptions = {}, { concurrent = false } = {}): BrokerHandle {
  let broker: BrokerUnderTest | undefined;
  beforeAll(async () => {
    broker = await startBroker(options);
  });
  afterAll(async () => {
    RawClient.destroyAll();
    await broker?.close();
  });
  if (!concurrent) afterEach(() => RawClient.destroyAll());
  return {
    get broker() {
      if (!broker) throw new Error('broker not started');
      return broker;
    },
    get port() {
      return this.broker.port;
    },
    get wsPort() {
      const port = this.broker.wsPort;
      if (port === undefined) throw new Error('no WebSocket listener');
      return port;
    },
  };
}

/**
 * How long a keep-alive expiry may take to be noticed. mosquitto checks keep alive on a
 * coarse timer and closes a keepAlive=1 client only after 4–6 s (later than 1.5 × keep
 * alive); hato is expected within 1.5 s plus scheduling slack.
 */
export const KEEPALIVE_SLACK_MS = target === 'mosquitto' ? 9000 : 4000;

/** Connect options of a session that outlives its connection (5.0: expiry 300 s). */
export function persistent(version: MqttVersion, clientId: string): Omit<ConnectOptions, 'version'> {
  return version === 5 ? { clientId, clean: false, properties: [[Prop.SessionExpiryInterval, 300]] } : { clientId, clean: false };
}

/** Connects and completes the handshake with the given version. */
export function client(port: number, version: MqttVersion, options: Omit<ConnectOptions, 'version'> = {}): Promise<RawClient> {
  return connectAndHandshake(port, { clientId: uid('c'), ...options, version });
}

/**
 * Expects the broker to close the connection after a protocol violation. For a 5.0
 * session hato sends DISCONNECT with one of `codes` first (the spec says MAY, 4.13);
 * mosquitto is allowed to close without it, but if it sends one the code must match.
 */
export async function expectDisconnectAndClose(
  c: RawClient,
  version: MqttVersion,
  codes: readonly number[],
  timeoutMs = 5000,
): Promise<void> {
  const leftover = await c.expectClose(timeoutMs);
  const others = leftover.filter((p) => p.type !== 'disconnect');
  expect(others.map(describePacket), 'no other packet before the close').toEqual([]);
  const disconnect = leftover.find((p) => p.type === 'disconnect');
  if (version !== 5) {
    expect(disconnect, 'no DISCONNECT is sent to a 3.x client').toBeUndefined();
    return;
  }
  if (target === 'hato') expect(disconnect, 'hato sends DISCONNECT before closing a 5.0 connection').toBeDefined();
  if (disconnect?.type === 'disconnect') expect(codes).toContain(disconnect.reasonCode);
}

/**
 * Expects a CONNECT to be refused by closing the connection; a CONNACK sent before the
 * close, if any, must carry one of `codes` (never success).
 */
export async function expectConnectRefused(c: RawClient, codes: readonly number[]): Promise<void> {
  const leftover = await c.expectClose(5000);
  for (const packet of leftover) {
    expect(packet.type, `unexpected ${describePacket(packet)}`).toBe('connack');
    if (packet.type === 'connack') expect(codes).toContain(packet.reasonCode);
  }
}
