/** Measures and writes 5.0 property blocks, enforcing the property table. */
import { EncodeError } from './errors.js';
import type { Properties } from './properties.js';
import { type PropertyDefinition, propertiesByName } from './property-table.js';
import {
  binaryLength,
  checkInt,
  MAX_VARINT,
  stringLength,
  varintLength,
  writeBinary,
  writeString,
  writeU16,
  writeU32,
  writeVarint,
} from './writer.js';

const SUBSCRIBE = 8;

function definition(name: string, typeCode: number): PropertyDefinition {
  const d = propertiesByName.get(name);
  if (d === undefined) throw new EncodeError(0x81, `unknown property ${name}`);
  if ((d.packets & (1 << typeCode)) === 0) throw new EncodeError(0x81, `property ${name} not allowed in this packet (spec 2.2.2.2)`);
  return d;
}

/** Length of the property block content (without the Property Length varint). */
export function propertiesLength(props: Properties | undefined, typeCode: number): number {
  if (props === undefined) return 0;
  let total = 0;
  for (const name in props) {
    const value = (props as Record<string, unknown>)[name];
    if (value === undefined) continue;
    total += valueLength(definition(name, typeCode), value, typeCode);
  }
  return total;
}

function valueLength(d: PropertyDefinition, value: unknown, typeCode: number): number {
  const name = d.name;
  switch (d.type) {
    case 'byte':
      checkInt(value, 0, d.id === 0x24 ? 1 : 255, name);
      return 2;
    case 'bool':
      if (typeof value !== 'boolean') throw new EncodeError(0x81, `${name} must be a boolean`);
      return 2;
    case 'int16':
      checkInt(value, d.id === 0x21 || d.id === 0x23 ? 1 : 0, 65_535, name);
      return 3;
    case 'int32':
      checkInt(value, d.id === 0x27 ? 1 : 0, 0xffff_ffff, name);
      return 5;
    case 'string':
      return 3 + stringLength(value, name);
    case 'binary':
      return 3 + binaryLength(value, name);
    case 'varint': {
      if (!Array.isArray(value)) throw new EncodeError(0x81, `${name} must be an array`);
      if (typeCode === SUBSCRIBE && value.length > 1) throw new EncodeError(0x81, 'SUBSCRIBE carries at most one subscription identifier');
      let n = 0;
      for (const id of value) n += 1 + varintLength(checkInt(id, 1, MAX_VARINT, 'subscription identifier'));
      return n;
    }
    case 'pair': {
      if (!Array.isArray(value)) throw new EncodeError(0x81, `${name} must be an array of [key, value]`);
      let n = 0;
      for (const pair of value) {
        if (!Array.isArray(pair) || pair.length !== 2) throw new EncodeError(0x81, 'user property must be [key, value]');
        n += 5 + stringLength(pair[0], 'user property key') + stringLength(pair[1], 'user property value');
      }
      return n;
    }
  }
}

/** Writes Property Length (`length` from propertiesLength) and the properties. */
export function writeProperties(buf: Uint8Array, pos: number, props: Properties | undefined, length: number): number {
  pos = writeVarint(buf, pos, length);
  if (props === undefined || length === 0) return pos;
  for (const name in props) {
    const value = (props as Record<string, unknown>)[name];
    if (value === undefined) continue;
    pos = writeValue(buf, pos, propertiesByName.get(name)!, value);
  }
  return pos;
}

function writeValue(buf: Uint8Array, pos: number, d: PropertyDefinition, value: unknown): number {
  switch (d.type) {
    case 'byte':
      buf[pos] = d.id;
      buf[pos + 1] = value as number;
      return pos + 2;
    case 'bool':
      buf[pos] = d.id;
      buf[pos + 1] = value ? 1 : 0;
      return pos + 2;
    case 'int16':
      buf[pos] = d.id;
      return writeU16(buf, pos + 1, value as number);
    case 'int32':
      buf[pos] = d.id;
      return writeU32(buf, pos + 1, value as number);
    case 'string':
      buf[pos] = d.id;
      return writeString(buf, pos + 1, value as string, stringLength(value, d.name));
    case 'binary':
      buf[pos] = d.id;
      return writeBinary(buf, pos + 1, value as Uint8Array);
    case 'varint':
      for (const id of value as number[]) {
        buf[pos++] = d.id;
        pos = writeVarint(buf, pos, id);
      }
      return pos;
    case 'pair':
      for (const [k, v] of value as [string, string][]) {
        buf[pos++] = d.id;
        pos = writeString(buf, pos, k, stringLength(k, 'user property key'));
        pos = writeString(buf, pos, v, stringLength(v, 'user property value'));
      }
      return pos;
  }
}
