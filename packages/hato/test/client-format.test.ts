/**
 * `hato sub -F` (commands/client-format.ts) on live (not retained) QoS 0 messages. The
 * expected bytes were printed by mosquitto_sub 2.0.11 for the same format and messages
 * (interop/client-cli-format.test.ts compares the two tools directly, on retained ones).
 */
import type { PublishPacket } from '@hato/protocol';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/commands/client-args.js';
import { MessageFormat } from '../src/commands/client-format.js';

const msg = (topic: string, payload: Uint8Array): PublishPacket => ({ type: 'publish', topic, payload, qos: 0, retain: false, dup: false });
const FORMAT = '%t|%5t|%-5t|%.2t|%p|%5p|%x|%X|%08x|%l|%05l|%m|%q|%r|%%';

describe('hato sub -F', () => {
  it('fields, widths and the write_payload quirks, as mosquitto_sub printed them', () => {
    const f = new MessageFormat(FORMAT, true);
    expect(f.format(msg('f/a', Buffer.from('he"l\\lo'))).stdout).toEqual(
      Buffer.from('f/a|  f/a|f/a  |f/|he"l\\lo|he"l\\|6865226c5c6c6f|6865226C5C6C6F|00686522|7|00007|0|0|0|%\n'),
    );
    const c = f.format(msg('f/c', Uint8Array.of(0x61, 0x01, 0xff))).stdout;
    expect(c).toEqual(
      Buffer.concat([
        Buffer.from('f/c|  f/c|f/c  |f/|'),
        Buffer.from([0x61, 0x01, 0xff]),
        Buffer.from('|  '),
        Buffer.from([0x61, 0x01, 0xff]),
        Buffer.from('|6101ff|6101FF|00000061|3|00003|0|0|0|%\n'),
      ]),
    );
  });

  it('-N: no newline; escapes; %j of an empty payload is null', () => {
    const f = new MessageFormat('\\t\\\\\\e\\0|%j', false);
    const out = f.format(msg('e/t', new Uint8Array(0))).stdout.toString('latin1');
    expect(out.startsWith('\t\\\x1b\x00|{"tst":"')).toBe(true);
    expect(out).toMatch(/"topic":"e\/t","qos":0,"retain":0,"payloadlen":0,"payload":null}$/);
  });

  it('refuses a bad format with mosquitto_sub\'s messages', () => {
    expect(() => new MessageFormat('%', true)).toThrow(new UsageError('Incomplete format specifier.'));
    expect(() => new MessageFormat('%Z', true)).toThrow(new UsageError("Invalid format specifier 'Z'."));
    expect(() => new MessageFormat('\\q', true)).toThrow(new UsageError("Invalid escape specifier 'q'."));
    expect(() => new MessageFormat('a\\', true)).toThrow(new UsageError('Incomplete escape specifier.'));
  });
});
