/**
 * Topic rules (spec 4.7): validation of topic names and filters, matching with the `$`
 * rule, and `$share/{group}/{filter}` parsing (5.0 spec 4.8.2).
 */
import { utf8Length } from './utf8.js';

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;
const SHARE_PREFIX = '$share/';

/** Non-empty [MQTT-4.7.3-1], no wildcard [MQTT-3.3.2-2], no U+0000, at most 65,535 bytes. */
export function isValidTopicName(name: string): boolean {
  if (typeof name !== 'string' || name.length === 0) return false;
  if (name.indexOf('+') !== -1 || name.indexOf('#') !== -1) return false;
  const n = utf8Length(name);
  return n > 0 && n <= 65_535;
}

/** Wildcard placement rules of a filter without the `$share/` prefix. */
function isValidPlainFilter(f: string): boolean {
  const last = f.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = f.charCodeAt(i);
    if (c === HASH) {
      // [MQTT-4.7.1-2] '#' alone in its level and the last character.
      if (i !== last || (i > 0 && f.charCodeAt(i - 1) !== SLASH)) return false;
    } else if (c === PLUS) {
      // [MQTT-4.7.1-3] '+' occupies a whole level.
      if ((i > 0 && f.charCodeAt(i - 1) !== SLASH) || (i < last && f.charCodeAt(i + 1) !== SLASH)) return false;
    }
  }
  return true;
}

interface SharedParts {
  group: string;
  filter: string;
}

function splitShared(filter: string): SharedParts | null {
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  if (slash <= SHARE_PREFIX.length) return null; // no group, or an empty group
  const group = filter.slice(SHARE_PREFIX.length, slash);
  // [MQTT-4.8.2-2] the ShareName must not contain '/', '+' or '#'.
  if (group.indexOf('+') !== -1 || group.indexOf('#') !== -1) return null;
  const inner = filter.slice(slash + 1);
  // [MQTT-4.8.2-1] a shared subscription's topic filter is at least one character long.
  if (inner.length === 0 || !isValidPlainFilter(inner)) return null;
  return { group, filter: inner };
}

/**
 * Non-empty, wildcards well placed, no U+0000, at most 65,535 bytes; a filter starting
 * with `$share/` must be a valid shared subscription.
 */
export function isValidTopicFilter(filter: string): boolean {
  if (typeof filter !== 'string' || filter.length === 0) return false;
  const n = utf8Length(filter);
  if (n <= 0 || n > 65_535) return false;
  if (filter.startsWith(SHARE_PREFIX)) return splitShared(filter) !== null;
  return isValidPlainFilter(filter);
}

/**
 * `{ group, filter }` of a valid `$share/{group}/{filter}`; null when `filter` does not
 * start with `$share/` or is not a valid shared subscription.
 */
export function parseSharedSubscription(filter: string): { group: string; filter: string } | null {
  if (typeof filter !== 'string' || !filter.startsWith(SHARE_PREFIX)) return null;
  return splitShared(filter);
}

/**
 * Whether topic name `name` matches `filter` (a shared filter matches by its inner
 * filter). Filters starting with a wildcard do not match names starting with `$`
 * [MQTT-4.7.2-1]. `a/#` also matches `a` [MQTT-4.7.1-2].
 */
export function topicMatches(filter: string, name: string): boolean {
  if (filter.startsWith(SHARE_PREFIX)) {
    const shared = splitShared(filter);
    if (shared === null) return false;
    filter = shared.filter;
  }
  if (name.charCodeAt(0) === DOLLAR) {
    const c = filter.charCodeAt(0);
    if (c === PLUS || c === HASH) return false;
  }
  const fl = filter.length;
  const nl = name.length;
  let fi = 0;
  let ni = 0;
  while (fi < fl) {
    const c = filter.charCodeAt(fi);
    if (c === HASH) return true;
    if (c === PLUS) {
      while (ni < nl && name.charCodeAt(ni) !== SLASH) ni++;
      fi++;
    } else {
      while (fi < fl && filter.charCodeAt(fi) !== SLASH) {
        if (ni >= nl || name.charCodeAt(ni) !== filter.charCodeAt(fi)) return false;
        fi++;
        ni++;
      }
      if (ni < nl && name.charCodeAt(ni) !== SLASH) return false;
    }
    // Both at the end of a level.
    if (fi >= fl) return ni >= nl;
    fi++; // filter's '/'
    if (ni >= nl) return fi === fl - 1 && filter.charCodeAt(fi) === HASH; // 'a/#' matches 'a'
    ni++; // name's '/'
  }
  return ni >= nl;
}
