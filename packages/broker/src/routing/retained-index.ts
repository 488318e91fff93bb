/** One topic level of the index: the value stored for the topic ending here, and deeper levels. */
class Level<T> {
  value: T | undefined;
  children: Map<string, Level<T>> | undefined;
}

/**
 * Retained messages indexed by topic level, so a wildcard filter visits only the branches it
 * can match instead of every retained topic: `a/+/c` walks the children of `a`, then one
 * `c` below each; `a/#` the subtree of `a`. Topics starting with `$` are not matched by a
 * filter starting with a wildcard [MQTT-4.7.2-1]. Levels exist only while a topic below
 * them does (emptied ones are pruned).
 */
export class RetainedIndex<T> {
  private readonly root = new Level<T>();

  set(topic: string, value: T): void {
    let level = this.root;
    for (const name of topic.split('/')) {
      level.children ??= new Map();
      let next = level.children.get(name);
      if (next === undefined) {
        next = new Level<T>();
        level.children.set(name, next);
      }
      level = next;
    }
    level.value = value;
  }

  delete(topic: string): void {
    removeFrom(this.root, topic.split('/'), 0);
  }

  /** Calls `visit` with the value of every topic matching `filter` (wildcards allowed). */
  match(filter: string, visit: (value: T) => void): void {
    matchLevel(this.root, filter.split('/'), 0, visit, true);
  }
}

/** Removes the value at `names` below `level`; true when `level` is left empty (to prune). */
function removeFrom<T>(level: Level<T>, names: string[], depth: number): boolean {
  if (depth === names.length) level.value = undefined;
  else {
    const child = level.children?.get(names[depth]!);
    if (child === undefined) return false;
    if (removeFrom(child, names, depth + 1)) {
      level.children!.delete(names[depth]!);
      if (level.children!.size === 0) level.children = undefined;
    }
  }
  return level.value === undefined && level.children === undefined;
}

function matchLevel<T>(level: Level<T>, parts: string[], depth: number, visit: (value: T) => void, first: boolean): void {
  if (depth === parts.length) {
    if (level.value !== undefined) visit(level.value);
    return;
  }
  const part = parts[depth]!;
  const children = level.children;
  if (part === '#') {
    // [MQTT-4.7.1-2] '#' matches the parent level too ('a/#' matches 'a').
    if (level.value !== undefined && depth > 0) visit(level.value);
    if (children !== undefined) for (const [name, child] of children) if (!(first && name.startsWith('$'))) visitAll(child, visit);
    return;
  }
  if (children === undefined) return;
  if (part === '+') {
    for (const [name, child] of children) if (!(first && name.startsWith('$'))) matchLevel(child, parts, depth + 1, visit, false);
    return;
  }
  const child = children.get(part);
  if (child !== undefined) matchLevel(child, parts, depth + 1, visit, false);
}

function visitAll<T>(level: Level<T>, visit: (value: T) => void): void {
  if (level.value !== undefined) visit(level.value);
  if (level.children !== undefined) for (const child of level.children.values()) visitAll(child, visit);
}
