import { describe, expect, it } from 'vitest';
import { clientDisconnectReasonFor, connackReasonFor, disconnectReasonFor, encode, isConnackReasonCode, isDisconnectReasonCode } from '../src/index.js';

const ALL = Array.from({ length: 256 }, (_, code) => code);

describe('the reason code a CONNACK or DISCONNECT carries for an error', () => {
  it('every error code maps to a code a 5.0 DISCONNECT may carry, and encodes', () => {
    for (const code of ALL) {
      const mapped = disconnectReasonFor(code);
      expect(isDisconnectReasonCode(mapped), `0x${code.toString(16)} → 0x${mapped.toString(16)}`).toBe(true);
      expect(mapped).toBeGreaterThanOrEqual(0x80);
      expect(() => encode({ type: 'disconnect', reasonCode: mapped }, 5)).not.toThrow();
    }
  });

  it('every error code maps to a code a 5.0 CONNACK may carry, and encodes', () => {
    for (const code of ALL) {
      const mapped = connackReasonFor(code);
      expect(isConnackReasonCode(mapped)).toBe(true);
      expect(mapped).toBeGreaterThanOrEqual(0x80);
      expect(() => encode({ type: 'connack', sessionPresent: false, reasonCode: mapped }, 5)).not.toThrow();
    }
  });

  it('codes allowed in the packet are kept; CONNACK-only codes get their nearest DISCONNECT code', () => {
    expect(disconnectReasonFor(0x8e)).toBe(0x8e);
    expect(disconnectReasonFor(0x93)).toBe(0x93);
    expect(disconnectReasonFor(0x84)).toBe(0x82); // a second CONNECT with an unknown level [MQTT-3.1.0-2]
    expect(disconnectReasonFor(0x86)).toBe(0x87);
    expect(disconnectReasonFor(0x88)).toBe(0x89);
    expect(connackReasonFor(0x86)).toBe(0x86);
    expect(connackReasonFor(0x8b)).toBe(0x88); // shutting down → Server unavailable
    expect(connackReasonFor(0x00)).toBe(0x80); // a success code is no refusal
  });

  it('a client only sends the DISCONNECT codes the spec lets a client send [§3.14.2.1]', () => {
    expect(clientDisconnectReasonFor(0x94)).toBe(0x94);
    expect(clientDisconnectReasonFor(0x81)).toBe(0x81);
    expect(clientDisconnectReasonFor(0x84)).toBe(0x82); // a CONNECT from a server
    expect(clientDisconnectReasonFor(0x8e)).toBe(0x82); // Session taken over is the server's
    for (const code of ALL) expect(isDisconnectReasonCode(clientDisconnectReasonFor(code))).toBe(true);
  });
});
