/** A level of a topic tree: its children by the next filter level ('+' and '#' included). */
export interface TopicLevel<L> {
  readonly children: Map<string, L>;
}

/**
 * Calls `visit(level, context)` for every level of a filter tree whose filter matches `topic`:
 * `+` matches one level, `#` the rest (and its parent: "`a/#` matches `a`" [MQTT-4.7.1-2]),
 * and wildcards at the first level do not match topics starting with '$' [MQTT-4.7.2-1].
 * Shared by the subscription trie and the cluster's remote interest; `context` instead of a
 * closure, so matching allocates nothing.
 */
export function matchTopic<L extends TopicLevel<L>, C>(root: L, topic: string, visit: (level: L, context: C) => void, context: C): void {
  // A cluster node matches each topic twice (its subscribers, the other nodes' interest): one split.
  if (topic !== lastTopic) {
    lastTopic = topic;
    lastParts = topic.split('/');
  }
  matchLevel(root, lastParts, 0, topic.charCodeAt(0) === 0x24, visit, context);
}

let lastTopic = '';
let lastParts: string[] = [''];

function matchLevel<L extends TopicLevel<L>, C>(level: L, parts: string[], index: number, dollar: boolean, visit: (level: L, context: C) => void, context: C): void {
  if (!dollar) {
    const hash = level.children.get('#');
    if (hash !== undefined) visit(hash, context);
  }
  if (index === parts.length) {
    visit(level, context);
    return;
  }
  if (!dollar) {
    const plus = level.children.get('+');
    if (plus !== undefined) matchLevel(plus, parts, index + 1, false, visit, context);
  }
  const child = level.children.get(parts[index]!);
  if (child !== undefined) matchLevel(child, parts, index + 1, false, visit, context);
}
