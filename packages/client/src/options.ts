/**
 * Client options and the broker address they resolve to. `connect(url, options)`
 * accepts `mqtt://`, `mqtts://`, `ws://`, `wss://` URLs (and the aliases `tcp://`,
 * `ssl://`, `tls://`) or a `{ host, port, protocol }` object.
 */
import type { Properties, ProtocolVersion, QoS } from '@hato/protocol';
import type { InFlightStore } from './store.js';

export type Scheme = 'mqtt' | 'mqtts' | 'ws' | 'wss';

/** Where to connect; produced by `resolveTarget` from a URL or object. */
export interface Target {
  protocol: Scheme;
  host: string;
  port: number;
  /** WebSocket path, default `/mqtt`. */
  path: string;
}

export interface TlsOptions {
  /** PEM CA certificate(s) to trust (Node only). */
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  /** Default true. */
  rejectUnauthorized?: boolean;
  /** SNI name; default the host when it is not an IP address. */
  servername?: string;
}

export interface WillOptions {
  topic: string;
  payload: string | Uint8Array;
  qos?: QoS;
  retain?: boolean;
  properties?: Properties;
}

export interface ReconnectOptions {
  /** First delay in ms (default 1000). */
  initialDelay?: number;
  /** Upper bound in ms (default 30000). */
  maxDelay?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** 0..1, the fraction of the delay that is randomised (default 0.5). */
  jitter?: number;
  /** Give up after this many failed attempts in a row (default Infinity). */
  maxAttempts?: number;
}

export interface ClientOptions extends TlsOptions {
  /** Default: a random `hato_xxxxxxxx`. */
  clientId?: string;
  username?: string;
  password?: string | Uint8Array;
  /** Clean Start (5.0) / Clean Session (3.x). Default true. */
  clean?: boolean;
  /**
   * 5.0 Session Expiry Interval in seconds. Default 0, except with `clean: false`
   * where it defaults to 0xFFFFFFFF (never expires), the 3.1.1 meaning of a persistent session.
   */
  sessionExpiryInterval?: number;
  /** Seconds, default 60; 0 disables keepalive. */
  keepalive?: number;
  /** Ms to wait for any packet after a PINGREQ before the link is declared dead (default keepalive/2, ≤ 30 s). */
  pingTimeout?: number;
  will?: WillOptions;
  /**
   * 3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5.0 (default 5). 'auto' tries 5.0 and, when the
   * broker refuses that protocol level, 3.1.1 (then stays with it).
   */
  protocolVersion?: ProtocolVersion | 'auto';
  /** Ms to wait for CONNACK after the transport opens (default 30000). */
  connectTimeout?: number;
  /** `false` disables automatic reconnect. */
  reconnect?: boolean | ReconnectOptions;
  /**
   * Back-pressure for QoS 0: once this many bytes are written but not sent yet (the
   * client's buffer plus the socket's / WebSocket's `bufferedAmount`), `publish` resolves
   * only at the next 'drain' and `writable` is false (default 512 KiB).
   */
  writeHighWaterMark?: number;
  /** Maximum number of messages kept while offline or while the server's Receive Maximum is reached (default 10000). */
  queueLimit?: number;
  /** Extra CONNECT properties (5.0): receiveMaximum, topicAliasMaximum, userProperties, ... */
  properties?: Properties;
  /** Follow Server Reference on 0x9C/0x9D (default true, at most 5 redirections in a row). */
  followRedirects?: boolean;
  /** Persist QoS 1/2 in-flight state (default: in memory). */
  store?: InFlightStore;
  /** Use topic aliases for outgoing PUBLISH when the server allows them (5.0, default true). */
  topicAliases?: boolean;
  /** WebSocket path (default from the URL, or `/mqtt`). */
  path?: string;
}

const defaultPorts: Record<Scheme, number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };
const schemeAliases: Record<string, Scheme> = {
  mqtt: 'mqtt',
  tcp: 'mqtt',
  mqtts: 'mqtts',
  ssl: 'mqtts',
  tls: 'mqtts',
  ws: 'ws',
  wss: 'wss',
};

export interface TargetObject {
  host?: string;
  hostname?: string;
  port?: number;
  protocol?: string;
  path?: string;
}

function scheme(name: string): Scheme {
  const s = schemeAliases[name.replace(/:$/, '').toLowerCase()];
  if (s === undefined) throw new TypeError(`unsupported protocol '${name}' (use mqtt, mqtts, ws or wss)`);
  return s;
}

/** Parses a URL or `{ host, port, protocol }` into a Target, plus credentials found in the URL. */
export function resolveTarget(
  address: string | TargetObject,
  pathOption?: string,
): { target: Target; username?: string; password?: string } {
  if (typeof address !== 'string') {
    const protocol = scheme(address.protocol ?? 'mqtt');
    return {
      target: {
        protocol,
        host: address.hostname ?? address.host ?? 'localhost',
        port: address.port ?? defaultPorts[protocol],
        path: pathOption ?? address.path ?? '/mqtt',
      },
    };
  }
  const url = new URL(address);
  const protocol = scheme(url.protocol);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const path = url.pathname === '' || url.pathname === '/' ? '/mqtt' : url.pathname + url.search;
  const result: { target: Target; username?: string; password?: string } = {
    target: { protocol, host, port: url.port ? Number(url.port) : defaultPorts[protocol], path: pathOption ?? path },
  };
  if (url.username) result.username = decodeURIComponent(url.username);
  if (url.password) result.password = decodeURIComponent(url.password);
  return result;
}

/** Parses a Server Reference ("host", "host:port", several separated by spaces) into a new Target. */
export function redirectTarget(current: Target, serverReference: string): Target | undefined {
  const first = serverReference.trim().split(/\s+/)[0];
  if (!first) return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(first);
  if (m === null) return undefined;
  const port = m[3] !== undefined ? Number(m[3]) : current.port;
  if (port < 1 || port > 65_535) return undefined; // a reference the server got wrong is not followed
  return { ...current, host: (m[1] ?? m[2])!, port };
}
