import { describe, expect, it } from 'vitest';
import { isValidTopicFilter, isValidTopicName, parseSharedSubscription, topicMatches } from '../src/index.js';

describe('isValidTopicName', () => {
  const valid = ['a', 'a/b', '/', '/a', 'a/', '$SYS/x', 'é/😀', ' ', 'a'.repeat(65_535)];
  const invalid = ['', 'a/+', '#', 'a+b', 'a/#', 'a\u0000', 'a'.repeat(65_536), 'é'.repeat(32_768), 'a\udc00'];
  for (const t of valid) it(`accepts ${JSON.stringify(t.slice(0, 20))} (${t.length})`, () => expect(isValidTopicName(t)).toBe(true));
  for (const t of invalid) it(`rejects ${JSON.stringify(t.slice(0, 20))} (${t.length})`, () => expect(isValidTopicName(t)).toBe(false));
});

describe('isValidTopicFilter [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1]', () => {
  const valid = ['#', '+', 'a/#', 'a/+', '+/+', '+/a/#', '/+', '+/', 'a//b', 'sport/+/player1', '$SYS/#', '$share/g/a/#', '$share/g/#', '$share/group/+', '$share'];
  const invalid = ['', 'a#', 'a/#/b', '#/', 'a+', '+a', 'a/b+', '##', 'a\u0000', '$share/', '$share//t', '$share/g', '$share/g/', '$share/g+/t', '$share/g#/t', '$share/g/a#'];
  for (const t of valid) it(`accepts ${JSON.stringify(t)}`, () => expect(isValidTopicFilter(t)).toBe(true));
  for (const t of invalid) it(`rejects ${JSON.stringify(t)}`, () => expect(isValidTopicFilter(t)).toBe(false));
  it('rejects a filter of 65,536 bytes', () => expect(isValidTopicFilter('a'.repeat(65_536))).toBe(false));
});

describe('parseSharedSubscription [MQTT-4.8.2-1] [MQTT-4.8.2-2]', () => {
  it('splits group and filter', () => {
    expect(parseSharedSubscription('$share/g1/a/+/c')).toEqual({ group: 'g1', filter: 'a/+/c' });
    expect(parseSharedSubscription('$share/g/#')).toEqual({ group: 'g', filter: '#' });
  });
  it('returns null for non-shared or invalid shared filters', () => {
    for (const f of ['a/b', '$share', '$shared/g/t', '$share//t', '$share/g', '$share/g/', '$share/+/t', '$share/g/a#']) {
      expect(parseSharedSubscription(f)).toBeNull();
    }
  });
});

describe('topicMatches', () => {
  const yes: [string, string][] = [
    ['a/b', 'a/b'],
    ['#', 'a/b/c'],
    ['#', '/'],
    ['a/#', 'a'], // '#' also matches the parent level [MQTT-4.7.1-2]
    ['a/#', 'a/'],
    ['a/#', 'a/b/c'],
    ['a/+', 'a/b'],
    ['a/+', 'a/'],
    ['+/+', '/'],
    ['+', 'a'],
    ['/+', '/a'],
    ['+/b', '/b'],
    ['sport/tennis/+', 'sport/tennis/player1'],
    ['sport/+/player1', 'sport/tennis/player1'],
    ['a/+/#', 'a/b'],
    ['$SYS/#', '$SYS/broker/load'],
    ['$SYS/+', '$SYS/x'],
    ['$share/g/a/+', 'a/b'],
    ['a//b', 'a//b'],
  ];
  const no: [string, string][] = [
    ['a/b', 'a/c'],
    ['a/b', 'a/bc'],
    ['a/bc', 'a/b'],
    ['a/+', 'a'], // '+' does not match the parent level
    ['a/+', 'a/b/c'],
    ['+', '/a'],
    ['+', 'a/'],
    ['a', 'a/'],
    ['a/', 'a'],
    ['sport/+', 'sport'],
    ['#', '$SYS/x'], // [MQTT-4.7.2-1]
    ['+/x', '$SYS/x'], // [MQTT-4.7.2-1]
    ['+', '$'],
    ['$share/g/#', '$SYS/x'],
    ['$share/g', 'anything'],
    ['a/#', 'b'],
  ];
  for (const [f, n] of yes) it(`${JSON.stringify(f)} matches ${JSON.stringify(n)}`, () => expect(topicMatches(f, n)).toBe(true));
  for (const [f, n] of no) it(`${JSON.stringify(f)} does not match ${JSON.stringify(n)}`, () => expect(topicMatches(f, n)).toBe(false));

  it('agrees with a level-by-level reference matcher on generated topics', () => {
    const levels = ['a', 'b', '', '$x'];
    const names: string[] = [];
    const filters: string[] = [];
    const gen = (depth: number, prefix: string[], pool: string[], out: string[]) => {
      if (prefix.length > 0) out.push(prefix.join('/'));
      if (depth === 0) return;
      for (const l of pool) gen(depth - 1, [...prefix, l], pool, out);
    };
    gen(3, [], levels, names);
    gen(3, [], [...levels, '+', '#'], filters);
    const reference = (f: string, n: string): boolean => {
      const fl = f.split('/');
      const nl = n.split('/');
      if (n.startsWith('$') && (fl[0] === '+' || fl[0] === '#')) return false;
      for (let i = 0; i < fl.length; i++) {
        if (fl[i] === '#') return true;
        if (i >= nl.length) return false;
        if (fl[i] !== '+' && fl[i] !== nl[i]) return false;
      }
      return fl.length === nl.length;
    };
    let checked = 0;
    for (const f of filters.filter(isValidTopicFilter)) {
      for (const n of names.filter(isValidTopicName)) {
        expect(topicMatches(f, n), `${f} vs ${n}`).toBe(reference(f, n));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});
