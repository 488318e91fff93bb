import { describe, expect, it } from 'vitest';
import { MqttError, PacketIdAllocator, ProtocolError, TopicAliasReceiver, TopicAliasSender } from '../src/index.js';

describe('PacketIdAllocator [MQTT-2.2.1-3]', () => {
  it('hands out 1..65535 round-robin and skips ids in use', () => {
    const a = new PacketIdAllocator();
    expect(a.next()).toBe(1);
    expect(a.next()).toBe(2);
    a.release(1);
    expect(a.next()).toBe(3); // round-robin, 1 is not reused immediately
    expect(a.inUse).toBe(2);
    expect(a.isInUse(2)).toBe(true);
    expect(a.isInUse(1)).toBe(false);
  });

  it('returns undefined when all 65,535 ids are in use, and recovers after a release', () => {
    const a = new PacketIdAllocator();
    const seen = new Set<number>();
    for (let i = 0; i < 65_535; i++) seen.add(a.next()!);
    expect(seen.size).toBe(65_535);
    expect(Math.min(...seen)).toBe(1);
    expect(Math.max(...seen)).toBe(65_535);
    expect(a.next()).toBeUndefined();
    a.release(40_000);
    expect(a.next()).toBe(40_000);
    expect(a.next()).toBeUndefined();
  });

  it('wraps around after 65535, skipping ids still in use', () => {
    const a = new PacketIdAllocator();
    for (let i = 0; i < 65_535; i++) a.next();
    for (let id = 2; id <= 65_535; id++) a.release(id);
    expect(a.next()).toBe(2); // 1 still in use
  });

  it('reserve marks a given id; release ignores ids not in use', () => {
    const a = new PacketIdAllocator();
    expect(a.reserve(1)).toBe(true);
    expect(a.reserve(1)).toBe(false);
    expect(a.reserve(0)).toBe(false);
    expect(a.next()).toBe(2);
    a.release(7);
    a.release(0);
    expect(a.inUse).toBe(2);
  });
});

describe('TopicAliasSender', () => {
  it('assigns aliases 1..maximum, then reuses them for the same topic', () => {
    const s = new TopicAliasSender(2);
    expect(s.lookup('a')).toEqual({ alias: 1, isNew: true });
    expect(s.lookup('b')).toEqual({ alias: 2, isNew: true });
    expect(s.lookup('a')).toEqual({ alias: 1, isNew: false });
  });

  it('replaces the least recently used mapping when full', () => {
    const s = new TopicAliasSender(2);
    s.lookup('a'); // 1
    s.lookup('b'); // 2
    s.lookup('a'); // a is now more recent than b
    expect(s.lookup('c')).toEqual({ alias: 2, isNew: true }); // b evicted
    expect(s.lookup('b')).toEqual({ alias: 1, isNew: true }); // a evicted
    expect(s.lookup('c')).toEqual({ alias: 2, isNew: false });
  });

  it('is disabled with maximum 0 and for the empty topic; reset forgets mappings', () => {
    expect(new TopicAliasSender(0).lookup('a')).toBeUndefined();
    const s = new TopicAliasSender(3);
    expect(s.lookup('')).toBeUndefined();
    s.lookup('a');
    s.reset();
    expect(s.lookup('b')).toEqual({ alias: 1, isNew: true });
  });
});

describe('TopicAliasReceiver', () => {
  it('sets a mapping with topic + alias and resolves an empty topic with it', () => {
    const r = new TopicAliasReceiver(5);
    expect(r.resolve('a/b', 3)).toBe('a/b');
    expect(r.resolve('', 3)).toBe('a/b');
    expect(r.resolve('c', 3)).toBe('c'); // remapped
    expect(r.resolve('', 3)).toBe('c');
    expect(r.resolve('plain', undefined)).toBe('plain');
  });

  const code = (f: () => unknown): number | undefined => {
    try {
      f();
    } catch (e) {
      return e instanceof MqttError ? e.reasonCode : -1;
    }
    return undefined;
  };

  it('alias 0 or above the maximum → 0x94 Topic Alias invalid [MQTT-3.3.2-8] [MQTT-3.3.2-9]', () => {
    const r = new TopicAliasReceiver(5);
    expect(code(() => r.resolve('a', 0))).toBe(0x94);
    expect(code(() => r.resolve('a', 6))).toBe(0x94);
    expect(code(() => new TopicAliasReceiver(0).resolve('a', 1))).toBe(0x94);
  });

  it('empty topic with an unknown alias, or with no alias → ProtocolError 0x82', () => {
    const r = new TopicAliasReceiver(5);
    expect(() => r.resolve('', 2)).toThrow(ProtocolError);
    expect(() => r.resolve('', undefined)).toThrow(ProtocolError);
    r.resolve('x', 2);
    r.reset();
    expect(() => r.resolve('', 2)).toThrow(ProtocolError);
  });
});
