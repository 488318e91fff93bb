/**
 * `hato sub -F`: mosquitto_sub 2.0's output format strings, byte for byte (interop tests
 * compare with mosquitto_sub 2.0.11). `%` sequences print message fields, with an
 * optional `-` (left align), `0` (zero pad), field width and `.precision`; `@X` is
 * strftime's `%X` on the local time (`@N`: nanoseconds, `@@`: `@`); `\` escapes. The
 * format is checked once, up front, with mosquitto's error messages. A trailing newline
 * follows each message unless -N.
 */
import type { PublishPacket } from '@hato/protocol';
import { UsageError } from './client-args.js';

/** The `%` conversions mosquitto_sub accepts. */
const CONVERSIONS = new Set('%ACDEFIjJlmPpqRrStUxX');
const ESCAPES: Record<string, number> = { '\\': 0x5c, '0': 0x00, a: 0x07, e: 0x1b, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b };

type Part =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'field'; conv: string; left: boolean; pad: string; width: number; precision: number }
  | { kind: 'time'; conv: string };

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** mosquitto's check_format: throws UsageError with its message for a bad format. */
function check(format: string): void {
  const len = format.length;
  const incomplete = () => new UsageError('Incomplete format specifier.');
  for (let i = 0; i < len; i++) {
    const c = format[i];
    if (c === '%') {
      if (i === len - 1) throw incomplete();
      if (format[i + 1] === '0' || format[i + 1] === '-') {
        i++;
        if (i === len - 1) throw incomplete();
      }
      while (isDigit(format[i + 1])) {
        i++;
        if (i === len - 1) throw incomplete();
      }
      if (format[i + 1] === '.') {
        i++;
        if (i === len - 1) throw incomplete();
        while (isDigit(format[i + 1])) {
          i++;
          if (i === len - 1) throw incomplete();
        }
      }
      if (!CONVERSIONS.has(format[i + 1]!)) throw new UsageError(`Invalid format specifier '${format[i + 1]}'.`);
      i++;
    } else if (c === '@') {
      if (i === len - 1) throw incomplete();
      i++;
    } else if (c === '\\') {
      if (i === len - 1) throw new UsageError('Incomplete escape specifier.');
      if (ESCAPES[format[i + 1]!] === undefined) throw new UsageError(`Invalid escape specifier '${format[i + 1]}'.`);
      i++;
    }
  }
}

/** Parses a checked format into literal bytes, fields and time conversions. */
function parse(format: string): Part[] {
  const parts: Part[] = [];
  let literal = '';
  const flush = () => {
    if (literal !== '') parts.push({ kind: 'bytes', bytes: Buffer.from(literal) });
    literal = '';
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c === '%') {
      let left = false;
      let pad = ' ';
      let width = 0;
      let precision = -1;
      i++;
      if (format[i] === '-') {
        left = true;
        i++;
      }
      if (format[i] === '0') {
        pad = '0';
        i++;
      }
      while (isDigit(format[i])) width = width * 10 + Number(format[i++]);
      if (format[i] === '.') {
        i++;
        precision = 0;
        while (isDigit(format[i])) precision = precision * 10 + Number(format[i++]);
      }
      flush();
      parts.push({ kind: 'field', conv: format[i]!, left, pad, width, precision });
    } else if (c === '@') {
      const next = format[++i]!;
      if (next === '@') literal += '@';
      else {
        flush();
        parts.push({ kind: 'time', conv: next });
      }
    } else if (c === '\\') {
      literal += String.fromCharCode(ESCAPES[format[++i]!]!);
    } else literal += c;
  }
  flush();
  return parts;
}

// ---------------------------------------------------------------- time (local, as strftime)

interface Now {
  date: Date;
  /** Nanoseconds within the second (microsecond resolution). */
  ns: number;
  /** Whole seconds since the epoch. */
  seconds: number;
}

function now(): Now {
  const ms = performance.timeOrigin + performance.now();
  const seconds = Math.floor(ms / 1000);
  const ns = Math.floor((ms - seconds * 1000) * 1000) * 1000;
  return { date: new Date(seconds * 1000 + Math.floor(ns / 1e6)), ns, seconds };
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const p2 = (n: number) => String(n).padStart(2, '0');

function zone(d: Date): string {
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  return `${off < 0 ? '-' : '+'}${p2(Math.floor(a / 60))}${p2(a % 60)}`;
}

function dayOfYear(d: Date): number {
  return Math.floor((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) / 86_400_000) + 1;
}

/** One strftime conversion in the C locale; an unknown one prints as itself, as glibc does. */
function strftime(conv: string, t: Now): string {
  const d = t.date;
  const h = d.getHours();
  switch (conv) {
    case 'a': return DAYS[d.getDay()]!.slice(0, 3);
    case 'A': return DAYS[d.getDay()]!;
    case 'b':
    case 'h': return MONTHS[d.getMonth()]!.slice(0, 3);
    case 'B': return MONTHS[d.getMonth()]!;
    case 'c': return `${strftime('a', t)} ${strftime('b', t)} ${strftime('e', t)} ${strftime('T', t)} ${d.getFullYear()}`;
    case 'C': return p2(Math.floor(d.getFullYear() / 100));
    case 'd': return p2(d.getDate());
    case 'D':
    case 'x': return `${p2(d.getMonth() + 1)}/${p2(d.getDate())}/${p2(d.getFullYear() % 100)}`;
    case 'e': return String(d.getDate()).padStart(2, ' ');
    case 'F': return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}`;
    case 'H': return p2(h);
    case 'I': return p2(h % 12 === 0 ? 12 : h % 12);
    case 'j': return String(dayOfYear(d)).padStart(3, '0');
    case 'k': return String(h).padStart(2, ' ');
    case 'l': return String(h % 12 === 0 ? 12 : h % 12).padStart(2, ' ');
    case 'm': return p2(d.getMonth() + 1);
    case 'M': return p2(d.getMinutes());
    case 'n': return '\n';
    case 'p': return h < 12 ? 'AM' : 'PM';
    case 'P': return h < 12 ? 'am' : 'pm';
    case 'r': return `${strftime('I', t)}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${strftime('p', t)}`;
    case 'R': return `${p2(h)}:${p2(d.getMinutes())}`;
    case 's': return String(t.seconds);
    case 'S': return p2(d.getSeconds());
    case 't': return '\t';
    case 'T':
    case 'X': return `${p2(h)}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
    case 'u': return String(d.getDay() === 0 ? 7 : d.getDay());
    case 'w': return String(d.getDay());
    case 'y': return p2(d.getFullYear() % 100);
    case 'Y': return String(d.getFullYear());
    case 'z': return zone(d);
    case 'Z': return new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '';
    case '%': return '%';
    default: return `%${conv}`;
  }
}

// ---------------------------------------------------------------- JSON (%j, %J) as cJSON prints it

/** cJSON_CreateString + print: bytes up to the first NUL, `"` `\` and controls escaped, the rest raw. */
function jsonString(bytes: Uint8Array): Buffer {
  const out: number[] = [0x22];
  for (const b of bytes) {
    if (b === 0) break;
    if (b === 0x22 || b === 0x5c) out.push(0x5c, b);
    else if (b >= 0x20) out.push(b);
    else {
      const short: Record<number, number> = { 8: 0x62, 12: 0x66, 10: 0x6e, 13: 0x72, 9: 0x74 };
      const s = short[b];
      if (s !== undefined) out.push(0x5c, s);
      else for (const ch of `\\u${b.toString(16).padStart(4, '0')}`) out.push(ch.charCodeAt(0));
    }
  }
  out.push(0x22);
  return Buffer.from(out);
}

const str = (s: string) => jsonString(Buffer.from(s));

/** The 5.0 properties of the message as mosquitto_sub's JSON prints them (wire order). */
function jsonProperties(packet: PublishPacket): Buffer[] | undefined {
  const props = packet.properties;
  if (props === undefined || Object.keys(props).length === 0) return undefined;
  const items: Buffer[] = [];
  const add = (name: string, value: Buffer) => items.push(Buffer.concat([Buffer.from(`"${name}":`), value]));
  for (const [key, value] of Object.entries(props)) {
    switch (key) {
      case 'payloadFormatIndicator': add('payload-format-indicator', Buffer.from(String(value))); break;
      case 'messageExpiryInterval': add('message-expiry-interval', Buffer.from(String(value))); break;
      case 'contentType': add('content-type', str(value as string)); break;
      case 'responseTopic': add('response-topic', str(value as string)); break;
      case 'correlationData': add('correlation-data', jsonString(value as Uint8Array)); break;
      case 'topicAlias': add('topic-alias', Buffer.from(String(value))); break;
      case 'subscriptionIdentifiers':
        for (const id of value as number[]) add('subscription-identifier', Buffer.from(String(id)));
        break;
      case 'userProperties': {
        const pairs = (value as [string, string][]).map(([k, v]) => Buffer.concat([str(k), Buffer.from(':'), str(v)]));
        add('user-properties', Buffer.concat([Buffer.from('{'), ...join(pairs), Buffer.from('}')]));
        break;
      }
    }
  }
  return items;
}

function join(items: Buffer[]): Buffer[] {
  return items.flatMap((b, i) => (i === 0 ? [b] : [Buffer.from(','), b]));
}

function tst(t: Now): string {
  const d = t.date;
  const frac = String(Math.floor(t.ns / 1000)).padStart(6, '0');
  return `${strftime('F', t)}T${strftime('T', t)}.${frac}Z${zone(d)}`;
}

/** `%j` (payload as a JSON string) or `%J` (payload parsed as JSON; undefined if it is not JSON). */
function json(packet: PublishPacket, t: Now, escaped: boolean): Buffer | undefined {
  let payload: Buffer;
  if (packet.payload.length === 0) payload = Buffer.from('null');
  else if (escaped) payload = jsonString(packet.payload);
  else {
    try {
      payload = Buffer.from(JSON.stringify(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(packet.payload))));
    } catch {
      return undefined;
    }
  }
  const head = `{"tst":"${tst(t)}","topic":`;
  const fields = `,"qos":${packet.qos},"retain":${packet.retain ? 1 : 0},"payloadlen":${packet.payload.length}${packet.qos > 0 ? `,"mid":${packet.packetId ?? 0}` : ''}`;
  const props = jsonProperties(packet);
  const parts = [Buffer.from(head), str(packet.topic), Buffer.from(fields)];
  if (props !== undefined) parts.push(Buffer.from(',"properties":{'), ...join(props), Buffer.from('}'));
  parts.push(Buffer.from(',"payload":'), payload, Buffer.from('}'));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- fields

type Field = Extract<Part, { kind: 'field' }>;

function int(value: number, f: Field): string {
  const s = String(value);
  if (f.width === 0) return s;
  if (f.left) return s.padEnd(f.width, ' ');
  if (f.pad === '0') return value < 0 ? `-${String(-value).padStart(f.width - 1, '0')}` : s.padStart(f.width, '0');
  return s.padStart(f.width, ' ');
}

const blank = (pad: string, width: number) => pad.repeat(width);

/** printf's `%*.*s` on bytes. */
function text(value: Uint8Array, f: Field): Buffer {
  let v = Buffer.from(value);
  if (f.precision >= 0 && v.length > f.precision) v = v.subarray(0, f.precision);
  if (v.length >= f.width) return v;
  const fill = Buffer.alloc(f.width - v.length, 0x20);
  return f.left ? Buffer.concat([v, fill]) : Buffer.concat([fill, v]);
}

/** mosquitto's write_payload, quirks included (a width truncates; `%-p` pads by the payload's length). */
function payloadField(payload: Uint8Array, hex: 0 | 1 | 2, f: Field): Buffer {
  let len = payload.length;
  let padlen: number;
  if (f.width > 0) {
    if (len > f.width) len = f.width;
    if (hex > 0) {
      len = Math.floor(len / 2);
      padlen = f.width - len * 2;
    } else padlen = f.width - len;
  } else padlen = f.width - len;
  const body = payload.subarray(0, len);
  const shown = hex === 0 ? Buffer.from(body) : Buffer.from(Buffer.from(body).toString('hex')[hex === 2 ? 'toUpperCase' : 'toLowerCase']());
  if (!f.left) return padlen > 0 ? Buffer.concat([Buffer.from(f.pad.repeat(padlen)), shown]) : shown;
  return Buffer.concat([shown, Buffer.alloc(Math.abs(padlen), 0x20)]); // printf("%*s", padlen, "")
}

export interface FormatOutput {
  stdout: Buffer;
  /** Error lines for stderr (a %J payload that is not JSON). */
  stderr: string[];
}

export class MessageFormat {
  private readonly parts: Part[];
  private readonly usesTime: boolean;

  /** Throws UsageError with mosquitto_sub's message if `format` is invalid. */
  constructor(
    format: string,
    private readonly eol: boolean,
  ) {
    check(format);
    this.parts = parse(format);
    this.usesTime = this.parts.some((p) => p.kind === 'time' || (p.kind === 'field' && 'IjJU'.includes(p.conv)));
  }

  format(packet: PublishPacket): FormatOutput {
    const out: Buffer[] = [];
    const stderr: string[] = [];
    const t = this.usesTime ? now() : undefined;
    const enc = (s: string) => out.push(Buffer.from(s));
    for (const part of this.parts) {
      if (part.kind === 'bytes') out.push(Buffer.from(part.bytes));
      else if (part.kind === 'time') {
        enc(part.conv === 'N' ? String(t!.ns).padStart(9, '0') : strftime(part.conv, t!));
      } else this.field(packet, part, t, out, stderr);
    }
    if (this.eol) enc('\n');
    return { stdout: Buffer.concat(out), stderr };
  }

  private field(packet: PublishPacket, f: Field, t: Now | undefined, out: Buffer[], stderr: string[]): void {
    const props = packet.properties;
    const enc = (s: string) => out.push(Buffer.from(s));
    const optionalInt = (v: number | undefined) => enc(v === undefined ? blank(f.pad, f.width) : int(v, f));
    const optionalStr = (v: string | undefined, blankIfAbsent: boolean) => {
      if (v !== undefined) out.push(text(Buffer.from(v), f));
      else if (blankIfAbsent) enc(blank(' ', f.width));
    };
    switch (f.conv) {
      case '%': enc('%'); break;
      case 'A': optionalInt(props?.topicAlias); break;
      case 'C': optionalStr(props?.contentType, true); break;
      case 'D': if (props?.correlationData) out.push(Buffer.from(props.correlationData)); break;
      case 'E': optionalInt(props?.messageExpiryInterval); break;
      case 'F': optionalInt(props?.payloadFormatIndicator); break;
      case 'I': out.push(text(Buffer.from(`${strftime('F', t!)}T${strftime('T', t!)}${zone(t!.date)}`), f)); break;
      case 'j': out.push(json(packet, t!, true)!); break;
      case 'J': {
        const j = json(packet, t!, false);
        if (j === undefined) stderr.push(`Error: Message payload is not valid JSON on topic ${packet.topic}.`);
        else out.push(j);
        break;
      }
      case 'l': enc(int(packet.payload.length, f)); break;
      case 'm': enc(int(packet.packetId ?? 0, f)); break;
      case 'P': enc((props?.userProperties ?? []).map(([k, v]) => `${k}:${v}`).join(' ')); break;
      case 'p': out.push(payloadField(packet.payload, 0, f)); break;
      case 'q': enc(String(packet.qos)); break;
      case 'R': optionalStr(props?.responseTopic, false); break;
      case 'r': enc(packet.retain ? '1' : '0'); break;
      case 'S': optionalInt(props?.subscriptionIdentifiers?.[0]); break;
      case 't': out.push(text(Buffer.from(packet.topic), f)); break;
      case 'U': enc(`${t!.seconds}.${String(t!.ns).padStart(9, '0')}`); break;
      case 'x': out.push(payloadField(packet.payload, 1, f)); break;
      case 'X': out.push(payloadField(packet.payload, 2, f)); break;
    }
  }
}
