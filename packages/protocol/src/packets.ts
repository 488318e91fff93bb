/**
 * MQTT control packets as a discriminated union on `type`.
 *
 * One shape serves MQTT 3.1 (level 3, protocol name `MQIsdp`), 3.1.1 (level 4) and
 * 5.0 (level 5). The version a packet is encoded or decoded for is always explicit
 * (the `version` argument of the encoder, the decoder's `protocolVersion`), never
 * guessed from the packet. Fields only 5.0 carries (`properties`, `reasonCode` on acks)
 * are optional and ignored/absent for 3.x.
 */

import type { Properties } from './properties.js';
import type { ConnackReasonCode, ConnectReturnCodeValue, DisconnectReasonCode } from './reason-code-sets.js';

/** Protocol level on the wire: 3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;

/** Fixed-header packet type numbers (high nibble of the first byte). */
export const PacketTypeCode = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
} as const;
export type PacketType = keyof typeof PacketTypeCode;

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** 5.0 will properties (will delay interval, message expiry, content type, ...). */
  properties?: Properties;
}

export interface ConnectPacket {
  type: 'connect';
  /** 3 → protocol name `MQIsdp`, 4 and 5 → `MQTT`. */
  protocolVersion: ProtocolVersion;
  clientId: string;
  /** Clean Session (3.x) / Clean Start (5.0). */
  cleanStart: boolean;
  /** Seconds; 0 disables keepalive. */
  keepAlive: number;
  username?: string;
  password?: Uint8Array;
  will?: Will;
  properties?: Properties;
}

export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  /** 5.0 reason code, or the 3.x return code (0..5). Typed: see `connackReasonFor`. */
  reasonCode: ConnackReasonCode | ConnectReturnCodeValue;
  properties?: Properties;
}

export interface PublishPacket {
  type: 'publish';
  /** May be '' in 5.0 when a topic alias carries the topic. */
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present if and only if qos > 0. */
  packetId?: number;
  properties?: Properties;
}

export interface AckPacket<T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> {
  type: T;
  packetId: number;
  /** 5.0 only; absent means 0x00 Success. */
  reasonCode?: number;
  properties?: Properties;
}
export type PubackPacket = AckPacket<'puback'>;
export type PubrecPacket = AckPacket<'pubrec'>;
export type PubrelPacket = AckPacket<'pubrel'>;
export type PubcompPacket = AckPacket<'pubcomp'>;

export type RetainHandling = 0 | 1 | 2;

export interface Subscription {
  topicFilter: string;
  /** Maximum QoS requested. */
  qos: QoS;
  /** 5.0 subscription options; absent means false / false / 0. */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: RetainHandling;
}

export interface SubscribePacket {
  type: 'subscribe';
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 'suback';
  packetId: number;
  /** One per filter: granted QoS 0/1/2, or a failure code (0x80 in 3.1.1, any ≥ 0x80 in 5.0). */
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: number;
  topicFilters: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: 'unsuback';
  packetId: number;
  /** 5.0 only: one per filter. Absent/ignored for 3.x. */
  reasonCodes?: number[];
  properties?: Properties;
}

export interface PingreqPacket {
  type: 'pingreq';
}
export interface PingrespPacket {
  type: 'pingresp';
}

export interface DisconnectPacket {
  type: 'disconnect';
  /** 5.0 only; absent means 0x00 Normal disconnection. Typed: see `disconnectReasonFor`. */
  reasonCode?: DisconnectReasonCode;
  properties?: Properties;
}

/** 5.0 only. */
export interface AuthPacket {
  type: 'auth';
  /** Absent means 0x00 Success. */
  reasonCode?: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;
