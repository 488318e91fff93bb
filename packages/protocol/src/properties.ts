/**
 * MQTT 5.0 properties. One interface for all packets; which properties a packet may
 * carry is enforced by the codec's property table (see property-table.ts), as the
 * spec's section 2.2.2.2 lists them.
 */
export type UserProperty = [key: string, value: string];

export interface Properties {
  /** 0x01 byte: 0 unspecified bytes, 1 UTF-8. PUBLISH, Will. */
  payloadFormatIndicator?: number;
  /** 0x02 four-byte integer, seconds. PUBLISH, Will. */
  messageExpiryInterval?: number;
  /** 0x03 UTF-8 string. PUBLISH, Will. */
  contentType?: string;
  /** 0x08 UTF-8 string (a topic name). PUBLISH, Will. */
  responseTopic?: string;
  /** 0x09 binary. PUBLISH, Will. */
  correlationData?: Uint8Array;
  /**
   * 0x0B variable byte integer, 1..268,435,455. PUBLISH (repeatable: one per matching
   * subscription), SUBSCRIBE (at most one).
   */
  subscriptionIdentifiers?: number[];
  /** 0x11 four-byte integer, seconds. CONNECT, CONNACK, DISCONNECT. */
  sessionExpiryInterval?: number;
  /** 0x12 UTF-8 string. CONNACK. */
  assignedClientIdentifier?: string;
  /** 0x13 two-byte integer, seconds. CONNACK. */
  serverKeepAlive?: number;
  /** 0x15 UTF-8 string. CONNECT, CONNACK, AUTH. */
  authenticationMethod?: string;
  /** 0x16 binary. CONNECT, CONNACK, AUTH. */
  authenticationData?: Uint8Array;
  /** 0x17 byte 0/1. CONNECT. */
  requestProblemInformation?: boolean;
  /** 0x18 four-byte integer, seconds. Will. */
  willDelayInterval?: number;
  /** 0x19 byte 0/1. CONNECT. */
  requestResponseInformation?: boolean;
  /** 0x1A UTF-8 string. CONNACK. */
  responseInformation?: string;
  /** 0x1C UTF-8 string. CONNACK, DISCONNECT. */
  serverReference?: string;
  /** 0x1F UTF-8 string. CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH. */
  reasonString?: string;
  /** 0x21 two-byte integer, > 0. CONNECT, CONNACK. */
  receiveMaximum?: number;
  /** 0x22 two-byte integer. CONNECT, CONNACK. */
  topicAliasMaximum?: number;
  /** 0x23 two-byte integer, > 0. PUBLISH. */
  topicAlias?: number;
  /** 0x24 byte 0/1. CONNACK. */
  maximumQoS?: number;
  /** 0x25 byte 0/1. CONNACK. */
  retainAvailable?: boolean;
  /** 0x26 UTF-8 string pair, repeatable, order kept. Every packet with properties. */
  userProperties?: UserProperty[];
  /** 0x27 four-byte integer, > 0. CONNECT, CONNACK. */
  maximumPacketSize?: number;
  /** 0x28 byte 0/1. CONNACK. */
  wildcardSubscriptionAvailable?: boolean;
  /** 0x29 byte 0/1. CONNACK. */
  subscriptionIdentifiersAvailable?: boolean;
  /** 0x2A byte 0/1. CONNACK. */
  sharedSubscriptionAvailable?: boolean;
}
