import { topicMatches } from '@hato/protocol';
import { describe, expect, it } from 'vitest';
import { RetainedIndex } from '../src/routing/retained-index.js';

/** Deterministic pseudo-random numbers (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['a', 'b', 'c', '', '$SYS', '$x', 'long-name'];

function topic(rand: () => number): string {
  const levels = 1 + Math.floor(rand() * 4);
  return Array.from({ length: levels }, () => NAMES[Math.floor(rand() * NAMES.length)]).join('/');
}

function filter(rand: () => number): string {
  const levels = 1 + Math.floor(rand() * 4);
  const parts: string[] = [];
  for (let i = 0; i < levels; i++) {
    const r = rand();
    if (r < 0.2 && i === levels - 1) parts.push('#');
    else if (r < 0.45) parts.push('+');
    else parts.push(NAMES[Math.floor(rand() * NAMES.length)]!);
  }
  return parts.join('/');
}

describe('RetainedIndex (retained messages by topic level)', () => {
  it('matches exactly what topicMatches matches, $ topics included [MQTT-4.7.2-1], through sets and deletes', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rand = random(seed);
      const index = new RetainedIndex<string>();
      const topics = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const t = topic(rand);
        if (rand() < 0.25 && topics.size > 0) {
          const victim = [...topics][Math.floor(rand() * topics.size)]!;
          index.delete(victim);
          topics.delete(victim);
        } else {
          index.set(t, t);
          topics.add(t);
        }
      }
      for (let i = 0; i < 100; i++) {
        const f = filter(rand);
        const found: string[] = [];
        index.match(f, (value) => found.push(value));
        const expected = [...topics].filter((t) => topicMatches(f, t));
        expect(found.sort(), `seed ${seed} filter '${f}'`).toEqual(expected.sort());
      }
    }
  });

  it("'a/#' matches 'a' itself, '#' no $ topic, and deleting prunes empty levels", () => {
    const index = new RetainedIndex<string>();
    for (const t of ['a', 'a/b', 'a/b/c', '$SYS/x', 'b']) index.set(t, t);
    const match = (f: string): string[] => {
      const out: string[] = [];
      index.match(f, (v) => out.push(v));
      return out.sort();
    };
    expect(match('a/#')).toEqual(['a', 'a/b', 'a/b/c']);
    expect(match('#')).toEqual(['a', 'a/b', 'a/b/c', 'b']);
    expect(match('$SYS/#')).toEqual(['$SYS/x']);
    index.delete('a/b/c');
    index.delete('a/b');
    expect(match('a/+')).toEqual([]);
    expect(match('a/#')).toEqual(['a']);
  });
});
