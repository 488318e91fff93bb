/**
 * Differential tests against mqtt-packet: what hato encodes mqtt-packet decodes to the
 * same packet, and what mqtt-packet generates hato decodes to the same packet, for MQTT
 * 3.1, 3.1.1 and 5.0. Cases where mqtt-packet departs from the spec are excluded with a
 * comment naming its behaviour.
 */
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { Decoder, encode, type Packet, type Properties, type ProtocolVersion } from '../src/index.js';
import { anyPacket, versions } from './arbitraries.js';
import { fromMqttPacket, normalize, toMqttPacket } from './mqtt-packet-adapter.js';

function mqttParse(bytes: Uint8Array, v: ProtocolVersion): Record<string, unknown>[] {
  const parser = mqttPacket.parser({ protocolVersion: v });
  const out: Record<string, unknown>[] = [];
  const errors: Error[] = [];
  parser.on('packet', (p) => out.push(p as unknown as Record<string, unknown>));
  parser.on('error', (e: Error) => errors.push(e));
  parser.parse(Buffer.from(bytes));
  if (errors.length > 0) throw errors[0];
  return out;
}

function hatoDecode(bytes: Uint8Array, v: ProtocolVersion): Packet[] {
  const d = new Decoder({ protocolVersion: v });
  d.push(bytes);
  const out: Packet[] = [];
  for (let p = d.next(); p !== null; p = d.next()) out.push(p);
  expect(d.buffered).toBe(0);
  return out;
}

/**
 * mqtt-packet's _parseProperties turns a repeated user property key into an array only
 * when the earlier value is truthy (`if (result[name][key])`), so a repeated key whose
 * first value is '' loses values.
 */
function hasRepeatedKeyWithEmptyValue(p: Packet): boolean {
  const lists = [(p as { properties?: Properties }).properties, p.type === 'connect' ? p.will?.properties : undefined];
  for (const props of lists) {
    const seen = new Map<string, string>();
    for (const [k, v] of props?.userProperties ?? []) {
      if (seen.has(k) && seen.get(k) === '') return true;
      if (!seen.has(k)) seen.set(k, v);
    }
  }
  return false;
}

/** mqtt-packet cannot parse these hato encodings although the spec allows them. */
function mqttPacketCannotParse(p: Packet, v: ProtocolVersion): boolean {
  if (v !== 5) return false;
  if (hasRepeatedKeyWithEmptyValue(p)) return true;
  // mqtt-packet's _parseAuth always reads a reason code and a property length, so it
  // rejects the remaining-length-0 AUTH that spec 3.15.2.1 allows for reason 0x00.
  if (p.type === 'auth' && p.reasonCode === 0 && p.properties === undefined) return true;
  // mqtt-packet's _parseDisconnect reads a property length even when the remaining
  // length is 1 (reason code only), which spec 3.14.2.2.1 allows ("less than 2").
  if (p.type === 'disconnect' && p.reasonCode !== 0 && p.properties === undefined) return true;
  return false;
}

/** mqtt-packet cannot generate these packets although the spec allows them. */
function mqttPacketCannotGenerate(p: Packet, v: ProtocolVersion): boolean {
  if (p.type === 'connect' && p.clientId === '') {
    // mqtt-packet refuses an empty client id for 3.1 and, with clean session 0, for any
    // version. Both are well-formed packets; the broker answers them with CONNACK 0x02 /
    // 0x85 ([MQTT-3.1.3-8]), so the codec must decode them.
    if (v === 3 || !p.cleanStart) return true;
  }
  if (v === 5 && hasRepeatedKeyWithEmptyValue(p)) return true;
  // mqtt-packet requires a user name with a password in every version ("Username is
  // required to use password"), though 5.0 allows a password alone (spec 3.1.2.9).
  if (p.type === 'connect' && v === 5 && p.password !== undefined && p.username === undefined) return true;
  return false;
}

describe('differential against mqtt-packet', () => {
  for (const v of versions) {
    it(`hato encodes → mqtt-packet decodes the same packet, version ${v}`, () => {
      fc.assert(
        fc.property(anyPacket(v), (p) => {
          fc.pre(!mqttPacketCannotParse(p, v));
          const parsed = mqttParse(encode(p, v), v);
          expect(parsed).toHaveLength(1);
          expect(normalize(fromMqttPacket(parsed[0]!, v))).toEqual(normalize(p));
        }),
        { numRuns: 1500 },
      );
    });

    it(`mqtt-packet generates → hato decodes the same packet, version ${v}`, () => {
      fc.assert(
        fc.property(anyPacket(v), (p) => {
          fc.pre(!mqttPacketCannotGenerate(p, v));
          const bytes = mqttPacket.generate(toMqttPacket(p, v) as never, { protocolVersion: v });
          const [q] = hatoDecode(new Uint8Array(bytes), v);
          expect(normalize(q)).toEqual(normalize(p));
        }),
        { numRuns: 1500 },
      );
    });
  }
});
