import type { ConnackPacket, Properties } from '@hato/protocol';
import type { Connection } from '../connection.js';
import { MQTT_MAX_PACKET_SIZE } from '../options.js';

/** What the CONNECT pipeline found out that the CONNACK reports. */
export interface ConnackDetails {
  readonly present: boolean;
  readonly serverKeepAlive: number | undefined;
  readonly assigned: string | undefined;
  /** 5.0: the client asked for Response Information [MQTT-3.1.2-28]. */
  readonly requestResponseInformation: boolean;
  /** 5.0 enhanced authentication: method and final data. */
  readonly authenticationMethod?: string;
  readonly authenticationData?: Uint8Array | undefined;
}

/**
 * The successful CONNACK. For 5.0 it advertises what the broker supports and its limits
 * (§3.2.2.3), each from the options: Maximum QoS, Retain / Wildcard / Subscription
 * Identifier / Shared Subscription Available, Receive Maximum, Maximum Packet Size, Topic
 * Alias Maximum, Server Keep Alive.
 */
export function sendConnack(connection: Connection, details: ConnackDetails): void {
  const version = connection.protocolVersion;
  // [MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-3] session present; 3.1 has no such flag.
  const packet: ConnackPacket = { type: 'connack', sessionPresent: version !== 3 && details.present, reasonCode: 0 };
  if (version === 5) {
    const options = connection.broker.options;
    const properties: Properties = {
      retainAvailable: options.retainAvailable,
      wildcardSubscriptionAvailable: options.wildcardSubscriptions,
      subscriptionIdentifiersAvailable: options.subscriptionIdentifiers,
      sharedSubscriptionAvailable: options.sharedSubscriptions,
      topicAliasMaximum: options.topicAliasMaximum,
    };
    // [MQTT-3.2.2-9] Maximum QoS is sent only when below 2.
    if (options.maximumQoS < 2) properties.maximumQoS = options.maximumQoS;
    if (options.receiveMaximum < 65535) properties.receiveMaximum = options.receiveMaximum;
    if (options.maximumPacketSize < MQTT_MAX_PACKET_SIZE) properties.maximumPacketSize = options.maximumPacketSize;
    if (details.serverKeepAlive !== undefined) properties.serverKeepAlive = details.serverKeepAlive;
    if (details.assigned !== undefined) properties.assignedClientIdentifier = details.assigned;
    if (details.requestResponseInformation) {
      const configured = options.responseInformation;
      const information = typeof configured === 'function' ? configured(connection) : configured;
      if (information !== undefined) properties.responseInformation = information;
    }
    if (details.authenticationMethod !== undefined) {
      properties.authenticationMethod = details.authenticationMethod;
      if (details.authenticationData !== undefined) properties.authenticationData = details.authenticationData;
    }
    packet.properties = properties;
  }
  connection.send(packet);
}
