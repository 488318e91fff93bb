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

/** `memoryRefusal`: a QoS 0 message dropped by the memory budget (not routed, nothing to answer). */
export const MEMORY_DROPPED = -1;

/**
 * The broker's memory budget on an incoming PUBLISH (see MemoryBudget). Returns 0 to go on,
 * MEMORY_DROPPED for QoS 0 over the QoS 0 mark, 0x97 Quota exceeded for a 5.0 QoS 1/2 message
 * that does not fit [§3.4.2.1]; a 3.x QoS 1/2 message that does not fit closes the connection
 * (3.x acks carry no code, and a message acknowledged must not be lost). Over the hold mark
 * the publisher also stops being read until usage falls (ReadHold). Below it: three adds.
 */
export function memoryRefusal(connection: Connection, packet: PublishPacket, topic: string): number {
  const memory = connection.broker.memory;
  const used = memory.queuedBytes + memory.inflightBytes + memory.outputBytes + memory.retainedBytes;
  if (used < memory.holdMark) return 0;
  if (!memory.stalled) connection.readHold.holdForMemory(memory);
  if (packet.qos === 0) {
    if (used < memory.qos0Mark) return 0;
    memory.droppedQoS0++;
    return MEMORY_DROPPED;
  }
  // The size the Message will account for (see Message.size).
  if (used + packet.payload.byteLength + topic.length * 3 + 64 <= memory.limit) return 0;
  memory.refusedPublishes++;
  if (connection.protocolVersion === 5) return ReasonCode.QuotaExceeded;
  throw new MqttError(ReasonCode.ServerBusy, 'the broker memory budget (maxMemoryBytes) is full');
}
