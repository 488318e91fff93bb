/** Payloads: strings are UTF-8 encoded; Uint8Array (and Node's Buffer, a subclass) pass as is. */
export type Payload = string | Uint8Array | ArrayBuffer | null | undefined;

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

export function toBytes(payload: Payload): Uint8Array {
  if (typeof payload === 'string') return encoder.encode(payload);
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (payload === null || payload === undefined) return EMPTY;
  throw new TypeError('payload must be a string, Uint8Array, Buffer or ArrayBuffer');
}
