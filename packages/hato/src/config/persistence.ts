import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { redactUrl, redisUrlProblem } from './redis-url.js';

/**
 * Where `hato broker` keeps its state. The default is durable: SQLite in the data directory.
 * - `memory`: nothing survives the process.
 * - `sqlite` / `sqlite:PATH` / `{ type: sqlite, path?, synchronous? }`: one SQLite file (default
 *   `<dataDir>/hato.db`; a relative PATH is taken from the data directory).
 * - `redis://HOST:PORT[/DB]` / `{ type: redis, url, prefix? }`: Redis (`rediss://` for TLS;
 *   `redis://:PASSWORD@HOST:PORT/DB` with a password); keys under `prefix` (default `hato:`).
 */
export type PersistenceSpec =
  | { readonly type: 'memory' }
  | { readonly type: 'sqlite'; readonly file: string; readonly synchronous: 'normal' | 'full' }
  | { readonly type: 'redis'; readonly url: string; readonly prefix: string | undefined };

/** The `persistence` config key / `--persistence` flag before the data directory is applied. */
export type PersistenceSetting = string | { type: string; path?: string; synchronous?: string; url?: string; prefix?: string; [key: string]: unknown };

export const SQLITE_FILE_NAME = 'hato.db';

/** `$XDG_DATA_HOME/hato`, else `~/.local/share/hato` (the XDG default). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME;
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, 'hato');
  return join(homedir(), '.local', 'share', 'hato');
}

/** A problem with the setting (a message for the config or flag error), else undefined. */
export function persistenceProblem(setting: PersistenceSetting): string | undefined {
  try {
    resolvePersistence(setting, '/');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The setting (undefined: the default) with the data directory applied. Throws on a bad setting. */
export function resolvePersistence(setting: PersistenceSetting | undefined, dataDir: string): PersistenceSpec {
  const value = setting ?? 'sqlite';
  const type = typeof value === 'string' ? value : value.type;
  if (type === 'memory') return { type: 'memory' };
  if (type === 'sqlite' || type.startsWith('sqlite:')) {
    const path = typeof value === 'string' ? (type === 'sqlite' ? undefined : type.slice('sqlite:'.length)) : value.path;
    if (path === '') throw new Error("'sqlite:' needs a file path after the colon (sqlite:PATH)");
    const synchronous = typeof value === 'string' ? 'normal' : (value.synchronous ?? 'normal');
    if (synchronous !== 'normal' && synchronous !== 'full') throw new Error(`synchronous must be 'normal' or 'full' (got '${synchronous}')`);
    return { type: 'sqlite', file: path === undefined ? join(dataDir, SQLITE_FILE_NAME) : resolve(dataDir, path), synchronous };
  }
  if (type === 'redis' || type.startsWith('redis://') || type.startsWith('rediss://')) {
    const url = typeof value === 'string' ? value : value.url;
    if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw new Error('redis needs a URL: redis://HOST:PORT[/DB]');
    const problem = redisUrlProblem(url);
    if (problem !== undefined) throw new Error(problem);
    const prefix = typeof value === 'string' ? undefined : value.prefix;
    if (prefix !== undefined && (typeof prefix !== 'string' || prefix === '')) throw new Error('redis prefix must be a non-empty string');
    return { type: 'redis', url, prefix };
  }
  throw new Error(`must be 'memory', 'sqlite[:PATH]' or 'redis://HOST:PORT[/DB]' (got '${type}')`);
}

/** Where the data is, for the start-up line. */
export function describePersistence(spec: PersistenceSpec): Record<string, unknown> {
  if (spec.type === 'memory') return { persistence: 'memory', data: 'in memory only: lost when hato stops' };
  if (spec.type === 'sqlite') return { persistence: 'sqlite', data: spec.file, synchronous: spec.synchronous };
  return { persistence: 'redis', data: redactUrl(spec.url), prefix: spec.prefix ?? 'hato:' };
}
