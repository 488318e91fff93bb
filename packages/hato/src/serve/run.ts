import { Broker, type BrokerOptions } from '@hato/broker';
import type { Logger } from 'pino';
import { describeCluster } from '../config/cluster.js';
import type { EffectiveConfig } from '../config/effective.js';
import { describePersistence } from '../config/persistence.js';
import { BROKER_OPTION_KEYS } from '../config/schema.js';
import { type AccessControl, createAccessControl, loadObservability, trustCertificateUsers } from './extensions.js';
import { logCluster, openClusterBus } from './cluster.js';
import { type RunningListener, reloadCertificates, startListeners } from './listeners.js';
import { openPersistence } from './persistence.js';

/** SIGTERM/SIGINT: past this, the broker stops waiting for connections to close and exits 1. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;

/** The BrokerOptions part of the config (the core never sees the file). */
export function brokerOptionsOf(config: EffectiveConfig): BrokerOptions {
  const options: Record<string, unknown> = {};
  for (const key of BROKER_OPTION_KEYS) if (config[key] !== undefined) options[key] = config[key];
  return options as BrokerOptions;
}

function needsAccessControl(config: EffectiveConfig): boolean {
  return config.passwordFile !== undefined || config.aclFile !== undefined || !config.allowAnonymous;
}

function logClients(broker: Broker, logger: Logger): void {
  broker.on('clientConnected', (client) =>
    logger.info(
      { clientId: client.id, username: client.username, version: client.protocolVersion, address: client.remoteAddress, listener: client.transport?.listener },
      'client connected',
    ),
  );
  broker.on('clientDisconnected', (client, reason) => logger.info({ clientId: client.id, reason: reason?.message }, 'client disconnected'));
  broker.on('clientError', (client, error) => logger.debug({ clientId: client.id, reasonCode: error.reasonCode, err: error.message }, 'client error'));
}

/** The start-up line: the first port of each kind (null when none), and every listener. */
function listeningLine(listeners: readonly RunningListener[], adminPort: number | undefined): Record<string, unknown> {
  const first = (type: string) => listeners.find((running) => running.config.type === type)?.listener.port ?? null;
  return {
    host: listeners[0]?.config.host ?? null,
    port: first('tcp'),
    wsPort: first('ws'),
    tlsPort: first('tls'),
    wssPort: first('wss'),
    adminPort: adminPort ?? null,
    listeners: listeners.map(({ config, name, listener }) => ({ name, type: config.type, host: config.host ?? null, port: listener.port })),
  };
}

interface Running {
  broker: Broker;
  /** A durable store: delayed wills are kept at shutdown (they go after the restart), not fired. */
  durable: boolean;
  listeners: RunningListener[];
  access: AccessControl | undefined;
  sys: { stop(): void } | undefined;
  admin: { port: number; close(): Promise<void> } | undefined;
  ready: boolean;
}

async function startObservability(running: Running, config: EffectiveConfig): Promise<void> {
  if (config.admin === undefined && config.sysInterval === 0) return;
  const module = await loadObservability();
  if (config.sysInterval > 0) running.sys = module.startSys(running.broker, { intervalSeconds: config.sysInterval });
  if (config.admin !== undefined) {
    const admin = config.admin;
    const listeners = () => running.listeners.map(({ name, listener }) => ({ name, connections: listener.connections }));
    const broker = running.broker;
    const cluster = config.cluster === undefined ? undefined : () => broker.cluster;
    running.admin = await module.startAdmin(broker, { port: admin.port, host: admin.host ?? '127.0.0.1', isReady: () => running.ready, listeners, cluster });
  }
}

/** Stops everything, in order: $SYS, listeners and clients (wills published), the admin listener. */
async function stop(running: Running): Promise<void> {
  running.ready = false;
  running.sys?.stop();
  await running.broker.close({ publishWills: true, storeDelayedWills: running.durable });
  await running.admin?.close();
}

/** SIGHUP: password file and ACL, then TLS certificates; a part that fails keeps its old set. */
async function reload(running: Running, logger: Logger): Promise<void> {
  logger.info('reloading (SIGHUP)');
  if (running.access !== undefined) {
    try {
      await running.access.reload();
      logger.info('password file and ACL reloaded');
    } catch {
      // reload() logged why and kept the previous users and rules.
    }
  }
  reloadCertificates(running.listeners, logger);
  logger.info('reload done');
}

/** Starts the broker, its listeners and extras; undefined (after logging why) when it cannot start. */
async function start(config: EffectiveConfig, logger: Logger): Promise<Running | undefined> {
  let access: AccessControl | undefined;
  try {
    if (needsAccessControl(config)) access = await createAccessControl({ passwordFile: config.passwordFile, aclFile: config.aclFile, allowAnonymous: config.allowAnonymous, logger });
  } catch (err) {
    logger.error({ err: err instanceof Error ? err.message : String(err) }, 'hato broker could not start');
    return undefined;
  }
  const options = brokerOptionsOf(config);
  if (access !== undefined) {
    options.hooks = trustCertificateUsers(access.hooks);
    // The password file's users also answer 5.0 SCRAM-SHA-256 (users made by `hato passwd`).
    // SCRAM over the same users, throttled per address like password logins.
    if (config.passwordFile !== undefined) options.authMethods = access.authMethods;
  }
  try {
    options.persistence = await openPersistence(config.store, (message) => logger.warn(describePersistence(config.store), message));
  } catch (err) {
    logger.error({ err: err instanceof Error ? err.message : String(err), ...describePersistence(config.store) }, 'hato broker could not start: the persistence cannot be opened');
    return undefined;
  }
  try {
    if (config.cluster !== undefined) options.clusterBus = await openClusterBus(config.cluster, logger);
  } catch (err) {
    logger.error({ err: err instanceof Error ? err.message : String(err), ...describeCluster(config.cluster, undefined) }, 'hato broker could not start: the cluster link cannot be made');
    await options.persistence.close?.();
    return undefined;
  }
  const broker = new Broker({ ...options, logger });
  logClients(broker, logger);
  if (config.cluster !== undefined) logCluster(broker, logger);
  const running: Running = { broker, durable: config.store.type !== 'memory', listeners: [], access, sys: undefined, admin: undefined, ready: false };
  try {
    await broker.whenReady();
    running.listeners = await startListeners(broker, config.listeners);
    await startObservability(running, config);
  } catch (err) {
    logger.error({ err: err instanceof Error ? err.message : String(err) }, 'hato broker could not start');
    await stop(running);
    return undefined;
  }
  return running;
}

/** Runs until SIGTERM/SIGINT; SIGHUP reloads. Resolves with the exit code. */
export async function serve(config: EffectiveConfig, logger: Logger): Promise<number> {
  const running = await start(config, logger);
  if (running === undefined) return 1;
  if (config.localOnly) {
    logger.warn('local only mode: no password file and no config listener, so hato listens on loopback only; use --host 0.0.0.0 or a listener in a config file to open it');
  }
  // Signal handlers first: whoever reads the listening line may signal at once.
  let reloading = Promise.resolve();
  const onHup = (): void => {
    reloading = reloading.then(() => reload(running, logger));
  };
  process.on('SIGHUP', onHup);
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  running.ready = true;
  const nodeId = config.cluster === undefined ? undefined : running.broker.cluster.nodeId;
  logger.info({ ...listeningLine(running.listeners, running.admin?.port), ...describePersistence(config.store), ...describeCluster(config.cluster, nodeId) }, 'hato broker listening');
  const signal = await stopSignal;
  logger.info({ signal }, 'shutting down');
  // A second signal while shutting down ends the process at once.
  const force = (): never => process.exit(1);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  process.off('SIGHUP', onHup);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS, 'timeout');
  });
  const outcome = await Promise.race([stop(running).then(() => 'stopped' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    logger.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown took too long: exiting anyway');
    return 1;
  }
  logger.info('hato broker stopped');
  return 0;
}
