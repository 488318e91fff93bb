/**
 * The MQTT 5.0 property table (spec 2.2.2.2): identifier → name, wire type, and the
 * packets that may carry it. The decoder and encoder both consult it, so "which
 * property is allowed where" lives in exactly one place.
 */
import type { Properties } from './properties.js';

export type PropertyWireType = 'byte' | 'bool' | 'int16' | 'int32' | 'varint' | 'string' | 'binary' | 'pair';

/** Bit per packet type code (1..15); bit 0 stands for the Will properties of CONNECT. */
export const WILL = 1 << 0;
const CONNECT = 1 << 1;
const CONNACK = 1 << 2;
const PUBLISH = 1 << 3;
const PUBACK = 1 << 4;
const PUBREC = 1 << 5;
const PUBREL = 1 << 6;
const PUBCOMP = 1 << 7;
const SUBSCRIBE = 1 << 8;
const SUBACK = 1 << 9;
const UNSUBSCRIBE = 1 << 10;
const UNSUBACK = 1 << 11;
const DISCONNECT = 1 << 14;
const AUTH = 1 << 15;
const ACKS = PUBACK | PUBREC | PUBREL | PUBCOMP;
const ALL = WILL | CONNECT | CONNACK | PUBLISH | ACKS | SUBSCRIBE | SUBACK | UNSUBSCRIBE | UNSUBACK | DISCONNECT | AUTH;

export interface PropertyDefinition {
  id: number;
  name: keyof Properties;
  type: PropertyWireType;
  /** Bit mask of packets (see WILL and packet type codes) that may carry it. */
  packets: number;
  /** May appear more than once (user property; subscription identifier in PUBLISH). */
  repeatable: boolean;
}

function def(id: number, name: keyof Properties, type: PropertyWireType, packets: number, repeatable = false): PropertyDefinition {
  return { id, name, type, packets, repeatable };
}

/** In identifier order; the encoder writes properties in this order. */
export const propertyDefinitions: readonly PropertyDefinition[] = [
  def(0x01, 'payloadFormatIndicator', 'byte', PUBLISH | WILL),
  def(0x02, 'messageExpiryInterval', 'int32', PUBLISH | WILL),
  def(0x03, 'contentType', 'string', PUBLISH | WILL),
  def(0x08, 'responseTopic', 'string', PUBLISH | WILL),
  def(0x09, 'correlationData', 'binary', PUBLISH | WILL),
  // Repeatable in PUBLISH only; the decoder rejects a second one in SUBSCRIBE.
  def(0x0b, 'subscriptionIdentifiers', 'varint', PUBLISH | SUBSCRIBE, true),
  def(0x11, 'sessionExpiryInterval', 'int32', CONNECT | CONNACK | DISCONNECT),
  def(0x12, 'assignedClientIdentifier', 'string', CONNACK),
  def(0x13, 'serverKeepAlive', 'int16', CONNACK),
  def(0x15, 'authenticationMethod', 'string', CONNECT | CONNACK | AUTH),
  def(0x16, 'authenticationData', 'binary', CONNECT | CONNACK | AUTH),
  def(0x17, 'requestProblemInformation', 'bool', CONNECT),
  def(0x18, 'willDelayInterval', 'int32', WILL),
  def(0x19, 'requestResponseInformation', 'bool', CONNECT),
  def(0x1a, 'responseInformation', 'string', CONNACK),
  def(0x1c, 'serverReference', 'string', CONNACK | DISCONNECT),
  def(0x1f, 'reasonString', 'string', CONNACK | ACKS | SUBACK | UNSUBACK | DISCONNECT | AUTH),
  def(0x21, 'receiveMaximum', 'int16', CONNECT | CONNACK),
  def(0x22, 'topicAliasMaximum', 'int16', CONNECT | CONNACK),
  def(0x23, 'topicAlias', 'int16', PUBLISH),
  def(0x24, 'maximumQoS', 'byte', CONNACK),
  def(0x25, 'retainAvailable', 'bool', CONNACK),
  def(0x26, 'userProperties', 'pair', ALL, true),
  def(0x27, 'maximumPacketSize', 'int32', CONNECT | CONNACK),
  def(0x28, 'wildcardSubscriptionAvailable', 'bool', CONNACK),
  def(0x29, 'subscriptionIdentifiersAvailable', 'bool', CONNACK),
  def(0x2a, 'sharedSubscriptionAvailable', 'bool', CONNACK),
];

/** Identifier → definition (undefined for identifiers the spec does not define). */
export const propertiesById: readonly (PropertyDefinition | undefined)[] = (() => {
  const table: (PropertyDefinition | undefined)[] = new Array(0x2b).fill(undefined);
  for (const d of propertyDefinitions) table[d.id] = d;
  return table;
})();

/** Name → definition. */
export const propertiesByName: ReadonlyMap<string, PropertyDefinition> = new Map(propertyDefinitions.map((d) => [d.name, d]));

/** Mask bit for a packet type code (1..15), or WILL for code 0. */
export function packetMask(typeCode: number): number {
  return 1 << typeCode;
}

/** Whether property `id` may appear in packet `typeCode` (0 = Will properties). */
export function isPropertyAllowed(id: number, typeCode: number): boolean {
  const d = propertiesById[id];
  return d !== undefined && (d.packets & (1 << typeCode)) !== 0;
}
