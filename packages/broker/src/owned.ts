import type { Properties, Will } from '@hato/protocol';

/**
 * Exact-size copies for values that outlive their packet [DESIGN: idle costs almost nothing].
 * The decoder hands out `subarray` views into the chunk a packet arrived in (up to 64 KiB,
 * shared with the packets around it); whatever the broker keeps longer than the packet (the
 * will, queued, in-flight and retained messages) is copied first, or it keeps the whole chunk
 * alive. A view that already spans its whole buffer is returned as is.
 *
 * (Not `Buffer#slice`: on a Buffer it makes another view.)
 */
export function ownBytes(view: Uint8Array): Uint8Array {
  if (view.byteLength === view.buffer.byteLength) return view;
  const copy = new Uint8Array(view.byteLength);
  copy.set(view);
  return copy;
}

/** `properties` with its binary fields (correlation and authentication data) owned. */
export function ownProperties(properties: Properties): Properties {
  const { correlationData, authenticationData } = properties;
  const ownCorrelation = correlationData === undefined ? undefined : ownBytes(correlationData);
  const ownAuthentication = authenticationData === undefined ? undefined : ownBytes(authenticationData);
  if (ownCorrelation === correlationData && ownAuthentication === authenticationData) return properties;
  const out: Properties = { ...properties };
  if (ownCorrelation !== undefined) out.correlationData = ownCorrelation;
  if (ownAuthentication !== undefined) out.authenticationData = ownAuthentication;
  return out;
}

/** A will kept until its connection ends: payload and properties owned. */
export function ownWill(will: Will): Will {
  const payload = ownBytes(will.payload);
  const properties = will.properties === undefined ? undefined : ownProperties(will.properties);
  if (payload === will.payload && properties === will.properties) return will;
  const out: Will = { ...will, payload };
  if (properties !== undefined) out.properties = properties;
  return out;
}
