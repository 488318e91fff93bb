import type { ConnectPacket, Properties, ProtocolVersion, Will } from '@hato/protocol';
import type { ClientOptions } from './options.js';
import { toBytes } from './payload.js';

/** Builds the CONNECT for one attempt from the client options. */
export function buildConnect(
  options: ClientOptions,
  version: ProtocolVersion,
  clientId: string,
  credentials: { username?: string; password?: string | Uint8Array },
): ConnectPacket {
  const packet: ConnectPacket = {
    type: 'connect',
    protocolVersion: version,
    clientId,
    cleanStart: options.clean ?? true,
    keepAlive: options.keepalive ?? 60,
  };
  if (credentials.username !== undefined) packet.username = credentials.username;
  if (credentials.password !== undefined) packet.password = toBytes(credentials.password);
  if (options.will !== undefined) {
    const w = options.will;
    const will: Will = { topic: w.topic, payload: toBytes(w.payload), qos: w.qos ?? 0, retain: w.retain ?? false };
    if (version === 5 && w.properties !== undefined) will.properties = w.properties;
    packet.will = will;
  }
  if (version === 5) {
    const properties: Properties = { ...options.properties };
    const expiry = options.sessionExpiryInterval ?? (options.clean === false ? 0xffffffff : 0);
    if (expiry > 0) properties.sessionExpiryInterval = expiry;
    if (Object.keys(properties).length > 0) packet.properties = properties;
  }
  return packet;
}

/** `hato_` and 8 random hex digits. */
export function randomClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  let s = 'hato_';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
