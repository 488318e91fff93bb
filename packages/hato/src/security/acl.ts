import { readFile } from 'node:fs/promises';

/**
 * Mosquitto's `acl_file` format:
 *
 *     # comment
 *     topic read sensors/#          rules before any `user` line: anonymous clients
 *     user alice
 *     topic readwrite alice/#       alice's rules (no access word: readwrite)
 *     topic deny alice/secret
 *     pattern write devices/%c/status   every client; %c = client id, %u = user name
 *
 * Checks (see access-control.ts for where they run):
 * - a topic name (PUBLISH: write; delivery: read) matches a rule's filter by MQTT matching,
 *   `#`/`+` in a rule's first level do not match `$` topics [MQTT-4.7.2-1];
 * - a SUBSCRIBE filter needs a read rule whose filter COVERS it (every topic the
 *   subscription can match, the rule matches: `a/#` covers `a/+/b`, `a/+` does not cover
 *   `a/#`), as Mosquitto does; a deny rule refuses a subscription it covers, and otherwise
 *   takes effect per message at delivery (`a/#` is granted, `a/secret` is not delivered).
 * - Deny rules win over allow rules, wherever they appear; no matching rule means denied.
 * - A pattern is skipped for a client whose id (for %c) or user name (for %u) contains
 *   `+`, `#` or `/`, or that has no user name (for %u): such a value would widen the rule.
 */
export const READ = 1;
export const WRITE = 2;
/** 0 = deny; READ | WRITE bits otherwise. */
export type Access = 0 | 1 | 2 | 3;

export interface AclRule {
  readonly access: Access;
  /** The filter as written (patterns: with %c / %u). */
  readonly filter: string;
}

export interface AclRules {
  /** `topic` lines before any `user` line. */
  readonly anonymous: readonly AclRule[];
  readonly users: ReadonlyMap<string, readonly AclRule[]>;
  readonly patterns: readonly AclRule[];
}

export class AclFileError extends Error {
  override readonly name = 'AclFileError';
}

const ACCESS_WORDS: Record<string, Access> = { read: READ, write: WRITE, readwrite: 3, deny: 0 };

/** Parses an ACL file's text; throws AclFileError naming the first bad line. */
export function parseAcl(text: string, fileName = 'ACL file'): AclRules {
  const anonymous: AclRule[] = [];
  const users = new Map<string, AclRule[]>();
  const patterns: AclRule[] = [];
  let current = anonymous;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fail = (why: string): never => {
      throw new AclFileError(`${fileName}:${i + 1}: ${why}`);
    };
    const space = line.search(/\s/);
    const keyword = space === -1 ? line : line.slice(0, space);
    const rest = space === -1 ? '' : line.slice(space).trim();
    if (keyword === 'user') {
      if (rest === '') fail('user needs a name');
      current = users.get(rest) ?? [];
      users.set(rest, current);
      continue;
    }
    if (keyword !== 'topic' && keyword !== 'pattern') fail(`unknown keyword '${keyword}' (expected user, topic or pattern)`);
    const wordEnd = rest.search(/\s/);
    const word = wordEnd === -1 ? rest : rest.slice(0, wordEnd);
    const access = ACCESS_WORDS[word];
    const filter = access === undefined ? rest : wordEnd === -1 ? '' : rest.slice(wordEnd).trim();
    if (filter === '') fail(`${keyword} needs a topic filter`);
    const invalid = filterError(filter);
    if (invalid !== undefined) fail(`'${filter}': ${invalid}`);
    (keyword === 'pattern' ? patterns : current).push({ access: access ?? 3, filter });
  }
  return { anonymous, users, patterns };
}

export async function readAclFile(path: string): Promise<AclRules> {
  return parseAcl(await readFile(path, 'utf8'), path);
}

function filterError(filter: string): string | undefined {
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return "'#' must be a whole last level";
    if (level.includes('+') && level !== '+') return "'+' must be a whole level";
  }
  return undefined;
}

/** One client's rules, substituted and split into levels: denies first, then allows. */
export interface CompiledRule {
  readonly access: Access;
  readonly levels: readonly string[];
}

/** The rules that apply to a client with this id and user name (topic rules, then patterns), denies first. */
export function compileFor(rules: AclRules, clientId: string, username: string | undefined): CompiledRule[] {
  const own = username === undefined ? rules.anonymous : (rules.users.get(username) ?? []);
  const all: AclRule[] = [...own];
  for (const pattern of rules.patterns) {
    const filter = substitute(pattern.filter, clientId, username);
    if (filter !== undefined) all.push({ access: pattern.access, filter });
  }
  const compiled = all.map((rule) => ({ access: rule.access, levels: rule.filter.split('/') }));
  return [...compiled.filter((rule) => rule.access === 0), ...compiled.filter((rule) => rule.access !== 0)];
}

function substitute(filter: string, clientId: string, username: string | undefined): string | undefined {
  let out = filter;
  if (out.includes('%c')) {
    if (unsafe(clientId)) return undefined;
    out = out.replaceAll('%c', clientId);
  }
  if (out.includes('%u')) {
    if (username === undefined || unsafe(username)) return undefined;
    out = out.replaceAll('%u', username);
  }
  return out;
}

function unsafe(value: string): boolean {
  return value === '' || value.includes('+') || value.includes('#') || value.includes('/');
}

/** Topic name access (PUBLISH: WRITE, delivery: READ). Allocation-free: runs per delivered message. */
export function checkTopic(rules: readonly CompiledRule[], topic: string, access: typeof READ | typeof WRITE): boolean {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (!topicMatches(rule.levels, topic)) continue;
    if (rule.access === 0) return false;
    if ((rule.access & access) !== 0) return true;
  }
  return false;
}

/** SUBSCRIBE access for a filter (a `$share/{group}/` prefix already removed). */
export function checkSubscription(rules: readonly CompiledRule[], filter: string): boolean {
  const levels = filter.split('/');
  for (const rule of rules) {
    if (!filterCovers(rule.levels, levels)) continue;
    if (rule.access === 0) return false;
    if ((rule.access & READ) !== 0) return true;
  }
  return false;
}

/** MQTT topic matching of a topic name against a filter's levels, walking the string (no split). */
export function topicMatches(levels: readonly string[], topic: string): boolean {
  let pos = 0;
  const dollar = topic.charCodeAt(0) === 36;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    // [MQTT-4.7.2-1] wildcards in the first level do not match topics starting with '$'.
    if (level === '#') return !(i === 0 && dollar);
    if (pos > topic.length) return false;
    let end = topic.indexOf('/', pos);
    if (end === -1) end = topic.length;
    if (level === '+') {
      if (i === 0 && dollar) return false;
    } else if (end - pos !== level.length || !topic.startsWith(level, pos)) return false;
    pos = end + 1;
  }
  return pos === topic.length + 1;
}

/** True when every topic `sub` can match is matched by `rule` (both split into levels). */
export function filterCovers(rule: readonly string[], sub: readonly string[]): boolean {
  const dollar = sub[0]!.startsWith('$');
  for (let i = 0; i < rule.length; i++) {
    const r = rule[i]!;
    if (r === '#') return !(i === 0 && dollar);
    if (i >= sub.length) return false;
    const s = sub[i]!;
    if (s === '#') return false;
    if (r === '+') {
      if (i === 0 && dollar) return false;
      continue;
    }
    if (s !== r) return false; // a literal rule level covers only the same literal ('+' in sub included)
  }
  return rule.length === sub.length;
}
