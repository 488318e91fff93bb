import { type ClusterSetting, type ClusterSpec, clusterStore, mergeClusterFlag, resolveCluster } from './cluster.js';
import { defaultDataDir, type PersistenceSpec, resolvePersistence } from './persistence.js';
import { redactUrl } from './redis-url.js';
import type { HatoConfig, ListenerConfig, ListenerType } from './schema.js';

/** Command-line flags that override the file (undefined: not given). */
export interface BrokerFlags {
  port?: number;
  host?: string;
  wsPort?: number;
  noWs?: boolean;
  tlsPort?: number;
  cert?: string;
  key?: string;
  cafile?: string;
  passwordFile?: string;
  aclFile?: string;
  allowAnonymous?: boolean;
  adminPort?: number;
  adminHost?: string;
  sysInterval?: number;
  /** `memory`, `sqlite[:PATH]` or `redis://HOST:PORT[/DB]`. */
  persistence?: string;
  dataDir?: string;
  /** `redis://HOST:PORT[/DB]`: join the other nodes on that Redis. */
  cluster?: string;
}

/** The config the broker runs with: listeners, anonymous access and defaults settled. */
export interface EffectiveConfig extends Omit<HatoConfig, 'cluster'> {
  listeners: ListenerConfig[];
  allowAnonymous: boolean;
  sysInterval: number;
  /** The data directory (flag, file, or `$XDG_DATA_HOME/hato` / `~/.local/share/hato`). */
  dataDir: string;
  /** Where the state lives, resolved against the data directory (default: SQLite there). */
  store: PersistenceSpec;
  /** The other nodes' Redis (undefined: a single node); the store is then that Redis. */
  cluster: ClusterSpec | undefined;
  /** No password file, no listener in the config, no --host: loopback only (Mosquitto 2.0's local only mode). */
  localOnly: boolean;
}

export const DEFAULT_SYS_INTERVAL = 10;
const LOOPBACK = '127.0.0.1';

/** A setting that cannot run (exposed without authentication, flags that do not fit). */
export class StartRefusedError extends Error {
  override name = 'StartRefusedError';
}

export function isLoopback(host: string | undefined): boolean {
  if (host === undefined) return false;
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Sets the port of the first listener of `type`, adding one when there is none. */
function setPort(listeners: ListenerConfig[], type: ListenerType, port: number, extra: Partial<ListenerConfig> = {}): void {
  const found = listeners.find((listener) => listener.type === type);
  if (found === undefined) listeners.push({ type, port, ...extra });
  else Object.assign(found, { port, ...extra });
}

function applyTlsFlags(listeners: ListenerConfig[], flags: BrokerFlags): void {
  if (flags.tlsPort === undefined) {
    if (flags.cert !== undefined || flags.key !== undefined) throw new StartRefusedError('--cert and --key need --tls-port');
    return;
  }
  const existing = listeners.find((listener) => listener.type === 'tls');
  const cert = flags.cert ?? existing?.cert;
  const key = flags.key ?? existing?.key;
  if (cert === undefined || key === undefined) throw new StartRefusedError('--tls-port needs --cert and --key');
  const extra: Partial<ListenerConfig> = { cert, key };
  if (flags.cafile !== undefined) Object.assign(extra, { ca: flags.cafile, requireClientCert: true });
  setPort(listeners, 'tls', flags.tlsPort, extra);
}

/** The listeners: the file's, or tcp 1883 + ws 8083; then the flags' overrides. */
function listenersOf(file: HatoConfig | undefined, flags: BrokerFlags): { listeners: ListenerConfig[]; fromFile: boolean } {
  const fromFile = file?.listeners !== undefined;
  const listeners: ListenerConfig[] = fromFile
    ? file!.listeners!.map((listener) => ({ ...listener }))
    : [
        { type: 'tcp', port: 1883 },
        { type: 'ws', port: 8083 },
      ];
  if (flags.port !== undefined) setPort(listeners, 'tcp', flags.port);
  if (flags.wsPort !== undefined && flags.noWs !== true) setPort(listeners, 'ws', flags.wsPort);
  applyTlsFlags(listeners, flags);
  const kept = flags.noWs === true ? listeners.filter((listener) => listener.type !== 'ws') : listeners;
  if (flags.host !== undefined) for (const listener of kept) listener.host = flags.host;
  return { listeners: kept, fromFile };
}

/** Where the state lives and which cluster (if any) the node joins: a cluster needs its Redis as the store. */
function storeAndCluster(config: HatoConfig, flags: BrokerFlags, dataDir: string): { store: PersistenceSpec; cluster: ClusterSpec | undefined } {
  const key = flags.cluster === undefined ? 'cluster' : '--cluster';
  let cluster: ClusterSpec | undefined;
  try {
    cluster = resolveCluster(mergeClusterFlag(config.cluster as ClusterSetting | undefined, flags.cluster));
  } catch (err) {
    throw new StartRefusedError(`${key}: ${(err as Error).message}`);
  }
  const setting = flags.persistence ?? config.persistence;
  let given: PersistenceSpec | undefined;
  try {
    // A cluster without a store named: the store is the cluster's Redis (clusterStore).
    if (setting !== undefined || cluster === undefined) given = resolvePersistence(setting, dataDir);
  } catch (err) {
    throw new StartRefusedError(`--persistence: ${(err as Error).message}`);
  }
  try {
    return cluster === undefined ? { store: given ?? resolvePersistence(undefined, dataDir), cluster } : clusterStore(cluster, given);
  } catch (err) {
    throw new StartRefusedError(`${key}: ${(err as Error).message}`);
  }
}

/**
 * Flags over the file, then the secure defaults: with no password file, no config listener
 * and no --host, every listener binds to loopback only. A listener open beyond loopback needs
 * a password file or `allowAnonymous: true`, else the broker refuses to start.
 */
export function effectiveConfig(file: HatoConfig | undefined, flags: BrokerFlags): EffectiveConfig {
  const config: HatoConfig = { ...file };
  if (flags.passwordFile !== undefined) config.passwordFile = flags.passwordFile;
  if (flags.aclFile !== undefined) config.aclFile = flags.aclFile;
  if (flags.allowAnonymous === true) config.allowAnonymous = true;
  if (flags.adminPort !== undefined) config.admin = { ...config.admin, port: flags.adminPort };
  if (flags.adminHost !== undefined) {
    if (config.admin === undefined) throw new StartRefusedError('--admin-host needs --admin-port (or admin.port in the config)');
    config.admin = { ...config.admin, host: flags.adminHost };
  }
  if (config.admin !== undefined && config.admin.host === undefined) config.admin = { ...config.admin, host: LOOPBACK };
  const { listeners, fromFile } = listenersOf(file, flags);
  const localOnly = config.passwordFile === undefined && !fromFile && flags.host === undefined;
  if (localOnly) for (const listener of listeners) listener.host = LOOPBACK;
  const open = listeners.filter((listener) => !isLoopback(listener.host));
  if (open.length > 0 && config.passwordFile === undefined && config.allowAnonymous !== true) {
    const where = open.map((listener) => `${listener.type} ${listener.host ?? 'all interfaces'}:${listener.port}`).join(', ');
    throw new StartRefusedError(
      `listening beyond loopback (${where}) without a password file would let anyone connect: give a password file (--password-file / passwordFile) or allow anonymous clients explicitly (--allow-anonymous / allowAnonymous: true)`,
    );
  }
  const dataDir = flags.dataDir ?? config.dataDir ?? defaultDataDir();
  const { store, cluster } = storeAndCluster(config, flags, dataDir);
  return {
    ...config,
    dataDir,
    store,
    cluster,
    listeners,
    allowAnonymous: config.allowAnonymous ?? config.passwordFile === undefined,
    sysInterval: flags.sysInterval ?? config.sysInterval ?? DEFAULT_SYS_INTERVAL,
    localOnly,
  };
}

const SECRET_KEY = /(^passphrase$|password$|secret$|token$)/i;

/** The effective config as printed by --print-config: secrets (and passwords in Redis URLs) masked, internal flags left out. */
export function printable(config: EffectiveConfig): Record<string, unknown> {
  const mask = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(mask);
    if (typeof value === 'string') return /^rediss?:\/\//.test(value) ? redactUrl(value) : value;
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = SECRET_KEY.test(key) && item !== undefined ? '********' : mask(item);
    return out;
  };
  const { localOnly: _localOnly, ...rest } = config;
  return mask(rest) as Record<string, unknown>;
}
