import { matchTopic } from './topic-match.js';
import type { Session, SessionSubscription } from '../session/session.js';

/** Members of one `$share/{group}/{filter}` group, served round robin [MQTT-4.8.2]. */
export class ShareGroup {
  readonly name: string;
  /** `$share/{name}/{filter}`: how the cluster names it. */
  readonly key: string;
  readonly members: Session[] = [];
  readonly subscriptions = new Map<Session, SessionSubscription>();
  next = 0;
  constructor(name: string, filter: string) {
    this.name = name;
    this.key = `$share/${name}/${filter}`;
  }
}

/**
 * Told when a filter gets its first subscriber or loses its last (a share group: its first
 * member, its last), with the filter as the cluster names it (`$share/{group}/{filter}`).
 */
export type InterestListener = (key: string, present: boolean) => void;

/** Receives matches from `SubscriptionTrie.match` (an object, so matching needs no closure). */
export interface MatchVisitor {
  visitSubscription(session: Session, subscription: SessionSubscription): void;
  visitGroup(group: ShareGroup): void;
}

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  readonly subscribers: Map<Session, SessionSubscription>;
  groups: Map<string, ShareGroup> | undefined;
}

function newNode(): TrieNode {
  return { children: new Map(), subscribers: new Map(), groups: undefined };
}

/**
 * Subscription tree keyed by topic level. `+` and `#` are children like any other level;
 * the `$` rule [MQTT-4.7.2-1] and "`a/#` matches `a`" [MQTT-4.7.1-2] live in `match` only.
 */
export class SubscriptionTrie {
  private readonly root = newNode();
  private count = 0;
  /** Set by a cluster: filters this node has subscribers on. */
  onInterest: InterestListener | undefined;

  get size(): number {
    return this.count;
  }

  /** Adds or replaces the subscription of `session` to `filter` (without the `$share/` prefix). */
  add(filter: string, session: Session, subscription: SessionSubscription): void {
    let node = this.root;
    for (const level of filter.split('/')) {
      let child = node.children.get(level);
      if (child === undefined) {
        child = newNode();
        node.children.set(level, child);
      }
      node = child;
    }
    if (subscription.group === undefined) {
      if (!node.subscribers.has(session)) {
        this.count++;
        if (node.subscribers.size === 0) this.onInterest?.(filter, true);
      }
      node.subscribers.set(session, subscription);
      return;
    }
    node.groups ??= new Map();
    let group = node.groups.get(subscription.group);
    if (group === undefined) {
      group = new ShareGroup(subscription.group, filter);
      node.groups.set(subscription.group, group);
      this.onInterest?.(group.key, true);
    }
    if (!group.subscriptions.has(session)) {
      group.members.push(session);
      this.count++;
    }
    group.subscriptions.set(session, subscription);
  }

  /** Removes the subscription; returns whether it existed. */
  remove(filter: string, session: Session, groupName: string | undefined): boolean {
    const path: TrieNode[] = [this.root];
    const levels = filter.split('/');
    let node = this.root;
    for (const level of levels) {
      const child = node.children.get(level);
      if (child === undefined) return false;
      path.push(child);
      node = child;
    }
    let removed: boolean;
    if (groupName === undefined) {
      removed = node.subscribers.delete(session);
      if (removed && node.subscribers.size === 0) this.onInterest?.(filter, false);
    } else {
      removed = this.removeFromGroup(node, groupName, session);
    }
    if (!removed) return false;
    this.count--;
    for (let i = levels.length; i > 0; i--) {
      const current = path[i]!;
      if (current.children.size > 0 || current.subscribers.size > 0 || current.groups !== undefined) break;
      path[i - 1]!.children.delete(levels[i - 1]!);
    }
    return true;
  }

  private removeFromGroup(node: TrieNode, groupName: string, session: Session): boolean {
    const group = node.groups?.get(groupName);
    if (group === undefined || !group.subscriptions.delete(session)) return false;
    const index = group.members.indexOf(session);
    group.members.splice(index, 1);
    if (group.next > index) group.next--;
    if (group.members.length === 0) {
      this.onInterest?.(group.key, false);
      node.groups!.delete(groupName);
      if (node.groups!.size === 0) node.groups = undefined;
    }
    return true;
  }

  /** The share group `groupName` on `filter` (without the `$share/` prefix), if it has members. */
  group(filter: string, groupName: string): ShareGroup | undefined {
    let node = this.root;
    for (const level of filter.split('/')) {
      const child = node.children.get(level);
      if (child === undefined) return undefined;
      node = child;
    }
    return node.groups?.get(groupName);
  }

  /** Calls the visitor for every subscription and share group whose filter matches `topic`. */
  match(topic: string, visitor: MatchVisitor): void {
    matchTopic(this.root, topic, visit, visitor);
  }
}

function visit(node: TrieNode, visitor: MatchVisitor): void {
  for (const [session, subscription] of node.subscribers) visitor.visitSubscription(session, subscription);
  if (node.groups !== undefined) for (const group of node.groups.values()) visitor.visitGroup(group);
}
