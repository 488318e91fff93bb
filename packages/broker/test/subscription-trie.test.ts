import { describe, expect, it } from 'vitest';
import { MemoryBudget } from '../src/memory-budget.js';
import { type MatchVisitor, type ShareGroup, SubscriptionTrie } from '../src/routing/subscription-trie.js';
import { Session, type SessionSubscription } from '../src/session/session.js';

function sub(topicFilter: string, group?: string): SessionSubscription {
  return { topicFilter, qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: undefined, group };
}

class Collector implements MatchVisitor {
  filters: string[] = [];
  groups: string[] = [];
  visitSubscription(_session: Session, subscription: SessionSubscription): void {
    this.filters.push(subscription.topicFilter);
  }
  visitGroup(group: ShareGroup): void {
    this.groups.push(group.name);
  }
}

function matches(trie: SubscriptionTrie, topic: string): string[] {
  const c = new Collector();
  trie.match(topic, c);
  return c.filters.sort();
}

const filters = ['#', '+', '+/+', 'a/#', 'a/+', 'a/b', 'a/b/#', 'a/+/c', '+/b/c', '$SYS/#', '$SYS/+', '/+', 'a//b'];

describe('SubscriptionTrie', () => {
  const trie = new SubscriptionTrie();
  const session = new Session('s', new MemoryBudget(Number.POSITIVE_INFINITY));
  for (const f of filters) trie.add(f, session, sub(f));

  const table: [string, string[]][] = [
    ['a', ['#', '+', 'a/#']], // [MQTT-4.7.1-2] 'a/#' matches its parent 'a'
    ['a/b', ['#', '+/+', 'a/#', 'a/+', 'a/b', 'a/b/#']],
    ['a/b/c', ['#', '+/b/c', 'a/#', 'a/+/c', 'a/b/#']],
    ['a/x/c', ['#', 'a/#', 'a/+/c']],
    ['/x', ['#', '+/+', '/+']],
    ['a//b', ['#', 'a/#', 'a//b']],
    ['$SYS/x', ['$SYS/#', '$SYS/+']], // [MQTT-4.7.2-1] no '#', '+', '+/+' for '$' topics
    ['$SYS', ['$SYS/#']],
    ['$other', []],
  ];
  for (const [topic, expected] of table) {
    it(`'${topic}' matches ${JSON.stringify(expected)}`, () => {
      expect(matches(trie, topic)).toEqual([...expected].sort());
    });
  }

  it('remove deletes one subscription and prunes empty nodes', () => {
    const t = new SubscriptionTrie();
    const s1 = new Session('1', new MemoryBudget(Number.POSITIVE_INFINITY));
    const s2 = new Session('2', new MemoryBudget(Number.POSITIVE_INFINITY));
    t.add('x/y/z', s1, sub('x/y/z'));
    t.add('x/y/z', s2, sub('x/y/z'));
    expect(t.size).toBe(2);
    expect(t.remove('x/y/z', s1, undefined)).toBe(true);
    expect(t.remove('x/y/z', s1, undefined)).toBe(false);
    expect(matches(t, 'x/y/z')).toEqual(['x/y/z']);
    expect(t.remove('x/y/z', s2, undefined)).toBe(true);
    expect(t.size).toBe(0);
    expect(t.remove('x/y', s2, undefined)).toBe(false);
  });

  it('share groups are matched once per group and keep their members', () => {
    const t = new SubscriptionTrie();
    const a = new Session('a', new MemoryBudget(Number.POSITIVE_INFINITY));
    const b = new Session('b', new MemoryBudget(Number.POSITIVE_INFINITY));
    t.add('w/+', a, sub('$share/g/w/+', 'g'));
    t.add('w/+', b, sub('$share/g/w/+', 'g'));
    t.add('w/+', b, sub('$share/h/w/+', 'h'));
    const c = new Collector();
    t.match('w/1', c);
    expect(c.groups.sort()).toEqual(['g', 'h']);
    expect(c.filters).toEqual([]);
    expect(t.remove('w/+', a, 'g')).toBe(true);
    expect(t.remove('w/+', a, 'g')).toBe(false);
    expect(t.size).toBe(2);
  });
});
