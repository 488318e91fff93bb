import { readFileSync } from 'node:fs';
import type { TlsOptions } from 'node:tls';
import type { Broker, Listener, ListenerRules, Logger } from '@hato/broker';
import type { ListenerConfig } from '../config/schema.js';

/** A listener from the config, running. */
export interface RunningListener {
  readonly config: ListenerConfig;
  readonly name: string;
  readonly listener: Listener;
}

function readPem(config: ListenerConfig, index: number, key: 'cert' | 'key' | 'ca'): string | undefined {
  const file = config[key];
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`listeners[${index}].${key}: cannot read '${file}': ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The certificate, key and CA of a tls/wss listener, read now (at start and at each reload). */
function secureContextOf(config: ListenerConfig, index: number): TlsOptions {
  const context: TlsOptions = { cert: readPem(config, index, 'cert'), key: readPem(config, index, 'key') };
  const ca = readPem(config, index, 'ca');
  if (ca !== undefined) context.ca = ca;
  if (config.passphrase !== undefined) context.passphrase = config.passphrase;
  return context;
}

function tlsOptionsOf(config: ListenerConfig, index: number): TlsOptions {
  const options = secureContextOf(config, index);
  // Client certificates: asked for and required (verified against `ca`) with requireClientCert.
  if (config.requireClientCert === true) Object.assign(options, { requestCert: true, rejectUnauthorized: true });
  return options;
}

export function listenerName(config: ListenerConfig): string {
  return config.name ?? `${config.type}:${config.port}`;
}

function start(broker: Broker, config: ListenerConfig, index: number): Promise<Listener> {
  const rules: ListenerRules & { port: number; host?: string } = { port: config.port, name: listenerName(config) };
  if (config.host !== undefined) rules.host = config.host;
  if (config.protocolVersions !== undefined) rules.protocolVersions = config.protocolVersions;
  if (config.maxConnections !== undefined) rules.maxConnections = config.maxConnections;
  if (config.useCommonNameAsUsername !== undefined) rules.useCommonNameAsUsername = config.useCommonNameAsUsername;
  const web = { ...rules, ...(config.path === undefined ? {} : { path: config.path }), ...(config.allowedOrigins === undefined ? {} : { allowedOrigins: config.allowedOrigins }) };
  switch (config.type) {
    case 'tcp':
      return broker.listen(rules);
    case 'tls':
      return broker.listenTls({ ...rules, ...tlsOptionsOf(config, index) });
    case 'ws':
      return broker.listenWebSocket(web);
    case 'wss':
      return broker.listenWebSocket({ ...web, tls: tlsOptionsOf(config, index) });
  }
}

/** Starts every listener, in order; if one fails, those already started are closed again. */
export async function startListeners(broker: Broker, configs: readonly ListenerConfig[]): Promise<RunningListener[]> {
  const running: RunningListener[] = [];
  for (const [index, config] of configs.entries()) {
    try {
      running.push({ config, name: listenerName(config), listener: await start(broker, config, index) });
    } catch (err) {
      await Promise.all(running.map((started) => started.listener.close()));
      const where = `listeners[${index}] (${config.type} ${config.host ?? 'all interfaces'}:${config.port})`;
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(message.startsWith('listeners[') ? message : `${where}: ${message}`);
    }
  }
  return running;
}

/**
 * SIGHUP: each tls/wss listener reads its certificate, key and CA again and uses them for new
 * connections; open ones keep theirs. A listener whose files fail keeps its old set; says why.
 */
export function reloadCertificates(running: readonly RunningListener[], logger: Logger): boolean {
  let ok = true;
  for (const [index, { config, name, listener }] of running.entries()) {
    if (listener.setSecureContext === undefined) continue;
    try {
      listener.setSecureContext(secureContextOf(config, index));
      logger.info({ listener: name }, 'tls certificates reloaded');
    } catch (err) {
      ok = false;
      logger.error({ listener: name, err: err instanceof Error ? err.message : String(err) }, 'tls certificate reload failed: keeping the previous certificates');
    }
  }
  return ok;
}
