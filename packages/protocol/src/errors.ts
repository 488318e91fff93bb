import { ReasonCode, reasonCodeName } from './reason-codes.js';

/**
 * Base class of every error hato's protocol layer raises. Carries the MQTT 5.0
 * reason code that the peer should be told (in DISCONNECT or CONNACK) about it.
 */
export class MqttError extends Error {
  override name = 'MqttError';
  readonly reasonCode: number;
  constructor(reasonCode: number, message?: string, options?: { cause?: unknown }) {
    super(message ?? reasonCodeName(reasonCode), options);
    this.reasonCode = reasonCode;
  }
}

/**
 * The decoder (or encoder) met bytes or a packet that breaks the spec. `reasonCode` is
 * 0x81 Malformed Packet, 0x82 Protocol Error, 0x95 Packet too large, ...
 */
export class DecodeError extends MqttError {
  override name = 'DecodeError';
}

export class MalformedPacketError extends DecodeError {
  override name = 'MalformedPacketError';
  constructor(message: string) {
    super(ReasonCode.MalformedPacket, message);
  }
}

export class ProtocolError extends DecodeError {
  override name = 'ProtocolError';
  constructor(message: string) {
    super(ReasonCode.ProtocolError, message);
  }
}

export class PacketTooLargeError extends DecodeError {
  override name = 'PacketTooLargeError';
  /** Remaining length plus fixed header, as announced by the peer. */
  readonly size: number;
  constructor(size: number, maximum: number) {
    super(ReasonCode.PacketTooLarge, `packet of ${size} bytes exceeds the maximum of ${maximum}`);
    this.size = size;
  }
}

/** A packet object that cannot be encoded (bad field, property not allowed, ...). */
export class EncodeError extends MqttError {
  override name = 'EncodeError';
}

/**
 * CONNECT announced a protocol name/level pair this codec does not speak (level other
 * than 3 with `MQIsdp`, 4 or 5 with `MQTT`). The broker answers with CONNACK 0x01
 * (3.x) or 0x84 (5.0) [MQTT-3.1.2-2] and closes.
 */
export class UnsupportedProtocolVersionError extends DecodeError {
  override name = 'UnsupportedProtocolVersionError';
  readonly level: number;
  readonly protocolName: string;
  constructor(level: number, protocolName: string) {
    super(ReasonCode.UnsupportedProtocolVersion, `unsupported protocol ${JSON.stringify(protocolName)} level ${level}`);
    this.level = level;
    this.protocolName = protocolName;
  }
}
