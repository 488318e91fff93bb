/**
 * Reads a 5.0 property block (spec 2.2.2): Property Length, then identifier/value
 * pairs, each checked against the property table for the packet being decoded.
 */
import { MalformedPacketError, ProtocolError } from './errors.js';
import type { Properties, UserProperty } from './properties.js';
import { type PropertyDefinition, propertiesById } from './property-table.js';
import type { Reader } from './reader.js';

const SUBSCRIBE = 8;

/**
 * Reads Property Length and the properties; returns undefined when the block is empty.
 * `typeCode` is the packet type (0 for Will properties).
 */
export function readProperties(r: Reader, typeCode: number): Properties | undefined {
  const length = r.varint('property length');
  if (length === 0) return undefined;
  const end = r.pos + length;
  if (end > r.end) throw r.truncated('properties');
  const outerEnd = r.end;
  r.end = end; // reads past the block are truncation errors
  const props: Properties = {};
  while (r.pos < end) {
    const id = r.varint('property identifier');
    const d = id < propertiesById.length ? propertiesById[id] : undefined;
    // Spec 2.2.2.2: an identifier not valid for the packet type is a Malformed Packet.
    if (d === undefined || (d.packets & (1 << typeCode)) === 0) {
      throw new MalformedPacketError(`property 0x${id.toString(16)} not allowed in this packet`);
    }
    readOne(r, d, props, typeCode);
  }
  r.end = outerEnd;
  return props;
}

function readOne(r: Reader, d: PropertyDefinition, props: Properties, typeCode: number): void {
  const p = props as Record<string, unknown>;
  if (d.id === 0x26) {
    const pair: UserProperty = [r.string('user property key'), r.string('user property value')];
    if (props.userProperties === undefined) props.userProperties = [pair];
    else props.userProperties.push(pair);
    return;
  }
  if (d.id === 0x0b) {
    const id = r.varint('subscription identifier');
    if (id === 0) throw new ProtocolError('subscription identifier 0 (spec 3.3.2.3.8, 3.8.2.1.2)');
    const list = props.subscriptionIdentifiers;
    if (list === undefined) props.subscriptionIdentifiers = [id];
    else if (typeCode === SUBSCRIBE) throw new ProtocolError('subscription identifier included more than once');
    else list.push(id);
    return;
  }
  if (p[d.name] !== undefined) throw new ProtocolError(`property ${d.name} included more than once`);
  p[d.name] = readValue(r, d);
}

function readValue(r: Reader, d: PropertyDefinition): unknown {
  switch (d.type) {
    case 'byte': {
      const v = r.u8(d.name);
      if (d.id === 0x24 && v > 1) throw new ProtocolError('maximum QoS other than 0 or 1');
      return v;
    }
    case 'bool': {
      const v = r.u8(d.name);
      if (v > 1) throw new ProtocolError(`${d.name} other than 0 or 1`);
      return v === 1;
    }
    case 'int16': {
      const v = r.u16(d.name);
      if (v === 0 && d.id === 0x21) throw new ProtocolError('receive maximum 0');
      return v;
    }
    case 'int32': {
      const v = r.u32(d.name);
      if (v === 0 && d.id === 0x27) throw new ProtocolError('maximum packet size 0');
      return v;
    }
    case 'string':
      return r.string(d.name);
    case 'binary':
      return r.binary(d.name);
    default:
      // 'varint' and 'pair' are handled by readOne.
      throw new MalformedPacketError(`unexpected property type ${d.type}`);
  }
}
