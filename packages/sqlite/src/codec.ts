import type { OutgoingState, StoredMessage } from '@hato/broker';

type Properties = StoredMessage['properties'];

/**
 * MQTT 5.0 properties as JSON text (they are rare, small and varied: not worth columns);
 * binary values (Correlation Data) as `{ "$b": base64 }`.
 */
export function encodeProperties(properties: Properties | Record<string, unknown> | undefined): string | null {
  if (properties === undefined) return null;
  return JSON.stringify(properties, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return { $b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
    if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
      return { $b: Buffer.from((value as { data: number[] }).data).toString('base64') }; // a Buffer after its toJSON
    }
    return value;
  });
}

export function decodeProperties<T = Properties>(text: string | null): T | undefined {
  if (text === null) return undefined;
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && typeof (value as { $b?: unknown }).$b === 'string') return new Uint8Array(Buffer.from((value as { $b: string }).$b, 'base64'));
    return value;
  }) as T;
}

/** A Uint8Array as a Buffer over the same bytes (what better-sqlite3 binds as a BLOB), no copy. */
export function blob(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const STATES: readonly OutgoingState[] = ['queued', 'awaiting-puback', 'awaiting-pubrec', 'awaiting-pubcomp'];

export function stateCode(state: OutgoingState): number {
  const code = STATES.indexOf(state);
  if (code === -1) throw new Error(`unknown message state '${String(state)}'`);
  return code;
}

export function stateOf(code: number): OutgoingState {
  const state = STATES[code];
  if (state === undefined) throw new Error(`unknown message state ${code}`);
  return state;
}
