import { matchTopic } from './topic-match.js';

/**
 * What the other nodes of a cluster subscribe to [DESIGN: Cluster]: a topic tree of filters,
 * each with the nodes that have a subscriber on it; a share group (`$share/{group}/{filter}`)
 * sits on its filter's node, with the nodes that have members. A publish asks it which nodes
 * get the message, so a node receives only what its subscribers match.
 */
interface Level {
  readonly children: Map<string, Level>;
  nodes: Set<string> | undefined;
  /** Share group key → nodes with members. */
  shares: Map<string, Set<string>> | undefined;
}

const newLevel = (): Level => ({ children: new Map(), nodes: undefined, shares: undefined });

/** Where one message goes: node → (to its direct subscribers?) and the share groups picked for it. */
export interface RemoteMatch {
  /** Nodes with a (non-shared) subscription that matches. */
  readonly direct: Set<string>;
  /** Share group key → the nodes that have members (in no particular order). */
  readonly shares: Map<string, string[]>;
}

export class RemoteInterest {
  private readonly root = newLevel();
  private readonly byNode = new Map<string, Set<string>>();

  /** True when no other node subscribes to anything: routing skips the cluster. */
  get empty(): boolean {
    return this.byNode.size === 0;
  }

  add(nodeId: string, key: string): void {
    let keys = this.byNode.get(nodeId);
    if (keys === undefined) {
      keys = new Set();
      this.byNode.set(nodeId, keys);
    }
    if (keys.has(key)) return;
    keys.add(key);
    const { filter, share } = parseKey(key);
    let level = this.root;
    for (const part of filter.split('/')) {
      let child = level.children.get(part);
      if (child === undefined) {
        child = newLevel();
        level.children.set(part, child);
      }
      level = child;
    }
    if (share) {
      level.shares ??= new Map();
      let nodes = level.shares.get(key);
      if (nodes === undefined) {
        nodes = new Set();
        level.shares.set(key, nodes);
      }
      nodes.add(nodeId);
    } else (level.nodes ??= new Set()).add(nodeId);
  }

  remove(nodeId: string, key: string): void {
    const keys = this.byNode.get(nodeId);
    if (keys === undefined || !keys.delete(key)) return;
    if (keys.size === 0) this.byNode.delete(nodeId);
    const { filter, share } = parseKey(key);
    const parts = filter.split('/');
    const path: Level[] = [this.root];
    let level = this.root;
    for (const part of parts) {
      const child = level.children.get(part);
      if (child === undefined) return;
      path.push(child);
      level = child;
    }
    if (share) {
      const nodes = level.shares?.get(key);
      nodes?.delete(nodeId);
      if (nodes !== undefined && nodes.size === 0) level.shares!.delete(key);
      if (level.shares !== undefined && level.shares.size === 0) level.shares = undefined;
    } else {
      level.nodes?.delete(nodeId);
      if (level.nodes !== undefined && level.nodes.size === 0) level.nodes = undefined;
    }
    for (let i = parts.length; i > 0; i--) {
      const current = path[i]!;
      if (current.children.size > 0 || current.nodes !== undefined || current.shares !== undefined) break;
      path[i - 1]!.children.delete(parts[i - 1]!);
    }
  }

  /** Forgets everything `nodeId` subscribed to (it left, or a resync follows). */
  removeNode(nodeId: string): void {
    const keys = this.byNode.get(nodeId);
    if (keys === undefined) return;
    for (const key of [...keys]) this.remove(nodeId, key);
  }

  /** The filters `nodeId` is known to subscribe to. */
  keysOf(nodeId: string): ReadonlySet<string> {
    return this.byNode.get(nodeId) ?? new Set();
  }

  /**
   * Which nodes `topic` goes to; undefined when none. The answer is scratch space, valid until
   * the next call (a publish allocates nothing when no other node matches).
   */
  match(topic: string): RemoteMatch | undefined {
    const found = this.found;
    if (found.direct.size !== 0) found.direct.clear();
    if (found.shares.size !== 0) found.shares.clear();
    matchTopic(this.root, topic, collect, found);
    return found.direct.size === 0 && found.shares.size === 0 ? undefined : found;
  }

  private readonly found: RemoteMatch = { direct: new Set(), shares: new Map() };
}

function parseKey(key: string): { filter: string; share: boolean } {
  if (!key.startsWith('$share/')) return { filter: key, share: false };
  const slash = key.indexOf('/', 7);
  return { filter: key.slice(slash + 1), share: true };
}

function collect(level: Level, found: RemoteMatch): void {
  if (level.nodes !== undefined) for (const node of level.nodes) found.direct.add(node);
  if (level.shares !== undefined) for (const [key, nodes] of level.shares) found.shares.set(key, [...nodes]);
}
