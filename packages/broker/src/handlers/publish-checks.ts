import { isUtf8 } from 'node:buffer';
import { MqttError, type PublishPacket, ReasonCode } from '@hato/protocol';
import type { Connection } from '../connection.js';

/**
 * Limits an incoming PUBLISH may hit before it is routed. Returns 0 to go on, or the
 * reason code the message is refused with (not routed; QoS 1/2 acknowledged with it in
 * 5.0, positively in 3.x [MQTT-3.3.5-2]). Throws when the only answer is a DISCONNECT.
 */
export function publishRefusal(connection: Connection, packet: PublishPacket, topic: string): number {
  const broker = connection.broker;
  // [MQTT-3.2.2-11] a QoS above the Maximum QoS in the CONNACK → DISCONNECT 0x9B.
  if (packet.qos > broker.options.maximumQoS) throw new MqttError(ReasonCode.QoSNotSupported, `QoS ${packet.qos} above the maximum of ${broker.options.maximumQoS}`);
  // (5.0 §3.3.2.3.2) Payload Format Indicator 1 with a payload that is not UTF-8 → 0x99.
  if (packet.properties?.payloadFormatIndicator === 1 && !isUtf8(packet.payload)) {
    if (packet.qos === 0) throw new MqttError(ReasonCode.PayloadFormatInvalid, 'payload is not valid UTF-8 (Payload Format Indicator 1)');
    return ReasonCode.PayloadFormatInvalid;
  }
  // maxRetainedMessages: a retained message for a new topic beyond it → 0x97 Quota exceeded.
  if (packet.retain && broker.retainedQuotaExceeded(topic, packet.payload)) {
    broker.options.logger.debug({ clientId: connection.id, topic }, 'retained message quota exceeded');
    return ReasonCode.QuotaExceeded;
  }
  return 0;
}
