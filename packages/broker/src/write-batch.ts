/**
 * Write batching helpers for Connection: the packets queued in one event-loop turn leave in
 * one buffer, with the packet ids of shared QoS 1/2 encodings patched into the copy.
 */

/** Concatenates queued packets into one buffer, writing each non-zero id into its packet's id field. */
export function joinPatched(chunks: Uint8Array[], ids: number[], total: number): Uint8Array {
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    out.set(chunk, offset);
    const id = ids[i]!;
    if (id !== 0) {
      const at = offset + packetIdOffset(chunk);
      out[at] = id >> 8;
      out[at + 1] = id & 0xff;
    }
    offset += chunk.byteLength;
  }
  return out;
}

/** Where the packet id is: after the topic in a PUBLISH, first in the variable header of an ack. */
function packetIdOffset(packet: Uint8Array): number {
  if (packet[0]! >> 4 !== 3) return 2;
  let at = 1;
  while ((packet[at]! & 0x80) !== 0) at++;
  at++;
  return at + 2 + ((packet[at]! << 8) | packet[at + 1]!);
}
