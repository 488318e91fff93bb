/**
 * UTF-8 helpers tuned for MQTT's short strings (topics, client ids, property keys).
 *
 * Short ASCII strings are decoded and encoded by hand: TextDecoder/TextEncoder cost a
 * native call each, which dominates for 10–40 byte topics. Longer or non-ASCII strings
 * go through TextDecoder in fatal mode (rejects overlong forms, surrogates, truncation)
 * with `ignoreBOM` so a leading U+FEFF is kept, as [MQTT-1.5.4-3] requires.
 */

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Longest string decoded by the hand-rolled ASCII loop. Above it, Node's TextDecoder
 * (SIMD validation) is faster than building the string char by char.
 */
const SHORT = 16;

/**
 * Decodes `buf[start, end)` as MQTT UTF-8: well-formed [MQTT-1.5.4-1] and without
 * U+0000 [MQTT-1.5.4-2]. Returns null when invalid (callers throw their own error class).
 */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string | null {
  const len = end - start;
  if (len === 0) return '';
  if (len <= SHORT) {
    let s = '';
    let i = start;
    for (; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) break;
      if (c === 0) return null;
      s += String.fromCharCode(c);
    }
    if (i === end) return s;
  }
  for (let i = start; i < end; i++) if (buf[i] === 0) return null;
  const view = buf.subarray(start, end);
  try {
    return decoder.decode(view);
  } catch {
    return null;
  }
}

/**
 * Byte length of `s` in UTF-8, or -1 when `s` holds a lone surrogate (not encodable
 * as well-formed UTF-8) or U+0000 (forbidden in MQTT strings [MQTT-1.5.4-2]).
 */
export function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) return -1;
      continue;
    }
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      if (c > 0xdbff || i + 1 >= n) return -1;
      const d = s.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return -1;
      bytes += 2; // 4 bytes for 2 UTF-16 units
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/**
 * Writes `s` (already measured with utf8Length: `byteLength` bytes) at `pos`.
 * Returns the position after the string.
 */
export function writeUtf8(target: Uint8Array, pos: number, s: string, byteLength: number): number {
  const n = s.length;
  if (byteLength === n) {
    for (let i = 0; i < n; i++) target[pos + i] = s.charCodeAt(i);
    return pos + n;
  }
  encoder.encodeInto(s, target.subarray(pos, pos + byteLength));
  return pos + byteLength;
}
