import { readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { configSchema, formatIssues, type HatoConfig } from './schema.js';

/** A config file that cannot be used: every problem, one per line, each naming its key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly problems: string[],
    readonly file?: string,
  ) {
    super(`${file === undefined ? 'config' : `config file ${file}`}:\n  ${problems.join('\n  ')}`);
  }
}

/** Reads a config file (YAML, JSON, or a .js/.mjs/.cjs module exporting the object). */
async function readRaw(file: string): Promise<unknown> {
  const extension = extname(file).toLowerCase();
  if (extension === '.js' || extension === '.mjs' || extension === '.cjs') {
    const module = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown };
    const exported = module.default ?? module;
    return typeof exported === 'function' ? await (exported as () => unknown)() : exported;
  }
  const source = readFileSync(file, 'utf8');
  if (extension === '.json') return JSON.parse(source) as unknown;
  return parseYaml(source) as unknown;
}

/**
 * Replaces `${NAME}` in every string value with the environment variable NAME, and
 * `${NAME:-default}` with it or the default when it is unset or empty; a missing variable
 * without a default is a problem that names the key. `$${` writes a literal `${`.
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, problems: string[], path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}/g, (match, name: string, hasDefault?: string, fallback?: string) => {
      if (match.startsWith('$$')) return match.slice(1);
      const found = env[name];
      if (hasDefault !== undefined && (found === undefined || found === '')) return fallback ?? '';
      if (found === undefined) problems.push(`${path}: environment variable ${name} is not set`);
      return found ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => substituteEnv(item, env, problems, `${path}[${index}]`));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = substituteEnv(item, env, problems, path === '' ? key : `${path}.${key}`);
    return out;
  }
  return value;
}

/** Validates a config object (after env substitution); throws ConfigError naming each bad key. */
export function validateConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env, file?: string): HatoConfig {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(['(top level): must be an object of keys'], file);
  const problems: string[] = [];
  const substituted = substituteEnv(raw, env, problems);
  if (problems.length > 0) throw new ConfigError(problems, file);
  const result = configSchema.safeParse(substituted);
  if (!result.success) throw new ConfigError(formatIssues(result.error), file);
  return result.data;
}

/** Paths in the file are relative to the file: made absolute here. */
function resolvePaths(config: HatoConfig, base: string): HatoConfig {
  const at = (path: string | undefined) => (path === undefined || isAbsolute(path) ? path : resolve(base, path));
  const resolved: HatoConfig = { ...config };
  if (config.passwordFile !== undefined) resolved.passwordFile = at(config.passwordFile);
  if (config.aclFile !== undefined) resolved.aclFile = at(config.aclFile);
  if (config.listeners !== undefined) {
    resolved.listeners = config.listeners.map((listener) => {
      const copy = { ...listener };
      if (listener.cert !== undefined) copy.cert = at(listener.cert);
      if (listener.key !== undefined) copy.key = at(listener.key);
      if (listener.ca !== undefined) copy.ca = at(listener.ca);
      return copy;
    });
  }
  return resolved;
}

/** Loads, substitutes `${ENV}`, validates and resolves the paths of a config file. */
export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<HatoConfig> {
  let raw: unknown;
  try {
    raw = await readRaw(file);
  } catch (err) {
    throw new ConfigError([`cannot read: ${err instanceof Error ? err.message : String(err)}`], file);
  }
  return resolvePaths(validateConfig(raw, env, file), dirname(resolve(file)));
}
