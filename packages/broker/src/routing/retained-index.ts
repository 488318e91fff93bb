/**
 * One topic level of the index: the value stored for the topic ending here, and deeper levels.
 * Most levels have one child (the middle of `site/7/device/42/state`): it is kept in two
 * fields, and a Map is made only from the second child on (a million topics, not a million Maps).
 */
class Level<T> {
  value: T | undefined;
  onlyName: string | undefined;
  only: Level<T> | undefined;
  children: Map<string, Level<T>> | undefined;

  child(name: string): Level<T> | undefined {
    if (this.onlyName === name) return this.only;
    return this.children?.get(name);
  }

  addChild(name: string): Level<T> {
    const level = new Level<T>();
    if (this.only === undefined && this.children === undefined) {
      this.onlyName = name;
      this.only = level;
      return level;
    }
    if (this.children === undefined) {
      this.children = new Map([[this.onlyName!, this.only!]]);
      this.onlyName = undefined;
      this.only = undefined;
    }
    this.children.set(name, level);
    return level;
  }

  removeChild(name: string): void {
    if (this.onlyName === name) {
      this.onlyName = undefined;
      this.only = undefined;
      return;
    }
    this.children?.delete(name);
    if (this.children?.size === 0) this.children = undefined;
  }

  get empty(): boolean {
    return this.value === undefined && this.only === undefined && this.children === undefined;
  }

  forEachChild(visit: (name: string, child: Level<T>) => void): void {
    if (this.only !== undefined) visit(this.onlyName!, this.only);
    if (this.children !== undefined) for (const [name, child] of this.children) visit(name, child);
  }
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
    let start = 0;
    for (;;) {
      const end = topic.indexOf('/', start);
      const name = end === -1 ? topic.slice(start) : topic.slice(start, end);
      level = level.child(name) ?? level.addChild(name);
      if (end === -1) break;
      start = end + 1;
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
    const child = level.child(names[depth]!);
    if (child === undefined) return false;
    if (removeFrom(child, names, depth + 1)) level.removeChild(names[depth]!);
  }
  return level.empty;
}

function matchLevel<T>(level: Level<T>, parts: string[], depth: number, visit: (value: T) => void, first: boolean): void {
  if (depth === parts.length) {
    if (level.value !== undefined) visit(level.value);
    return;
  }
  const part = parts[depth]!;
  if (part === '#') {
    // [MQTT-4.7.1-2] '#' matches the parent level too ('a/#' matches 'a').
    if (level.value !== undefined && depth > 0) visit(level.value);
    level.forEachChild((name, child) => {
      if (!(first && name.startsWith('$'))) visitAll(child, visit);
    });
    return;
  }
  if (part === '+') {
    level.forEachChild((name, child) => {
      if (!(first && name.startsWith('$'))) matchLevel(child, parts, depth + 1, visit, false);
    });
    return;
  }
  const child = level.child(part);
  if (child !== undefined) matchLevel(child, parts, depth + 1, visit, false);
}

function visitAll<T>(level: Level<T>, visit: (value: T) => void): void {
  if (level.value !== undefined) visit(level.value);
  level.forEachChild((_name, child) => visitAll(child, visit));
}
