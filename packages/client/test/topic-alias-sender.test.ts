/**
 * The allocation-free `TopicAliasSender.aliasFor` the client uses per PUBLISH agrees with
 * `lookup` (5.0 spec 3.3.2.3.4): new mappings up to the maximum, least recently used
 * replaced, the repeated-topic fast path keeping the recency order right.
 */
import { TopicAliasSender } from '@hato/protocol';
import { describe, expect, it } from 'vitest';

describe('TopicAliasSender.aliasFor', () => {
  it('negative for a new mapping, positive for a known topic, 0 when disabled or for ""', () => {
    const s = new TopicAliasSender(2);
    expect(s.aliasFor('a')).toBe(-1);
    expect(s.aliasFor('a')).toBe(1);
    expect(s.aliasFor('a')).toBe(1);
    expect(s.aliasFor('b')).toBe(-2);
    expect(s.aliasFor('')).toBe(0);
    expect(new TopicAliasSender(0).aliasFor('a')).toBe(0);
  });

  it('the repeated topic stays the most recent: the other one is evicted', () => {
    const s = new TopicAliasSender(2);
    s.aliasFor('a');
    s.aliasFor('b');
    s.aliasFor('a'); // a moves after b
    s.aliasFor('a'); // fast path: still the most recent
    expect(s.aliasFor('c')).toBe(-2); // b (least recent) replaced
    expect(s.aliasFor('a')).toBe(1);
    expect(s.aliasFor('b')).toBe(-2); // c is now the least recent
  });

  it('maximum 1: a new topic replaces the last one, which is then new again', () => {
    const s = new TopicAliasSender(1);
    expect(s.aliasFor('a')).toBe(-1);
    expect(s.aliasFor('b')).toBe(-1);
    expect(s.aliasFor('b')).toBe(1);
    expect(s.aliasFor('a')).toBe(-1);
  });

  it('reset forgets the fast-path topic too [MQTT-3.3.2-7]', () => {
    const s = new TopicAliasSender(3);
    s.aliasFor('a');
    s.reset();
    expect(s.aliasFor('a')).toBe(-1);
    expect(s.lookup('a')).toEqual({ alias: 1, isNew: false });
  });
});
