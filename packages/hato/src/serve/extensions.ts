import type { Broker, BrokerHooks, Client } from '@hato/broker';
import type { AccessControl, AccessControlOptions } from '../security/access-control.js';

export type { AccessControl };

/**
 * The password file / ACL and $SYS / admin modules (security/, observability/), loaded only
 * when the config asks for them so a plain `hato broker` does not load them.
 */

interface ObservabilityModule {
  startSys(broker: Broker, options: { intervalSeconds: number }): { stop(): void };
  startAdmin(
    broker: Broker,
    options: { port: number; host: string; isReady: () => boolean; listeners?: () => Iterable<{ readonly name: string; readonly connections: number }> },
  ): Promise<{ port: number; close(): Promise<void> }>;
}

// A specifier in a variable: the module is optional at build time.
const OBSERVABILITY = '../observability/index.js';

async function load<T>(specifier: string, what: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') throw new Error(`${what} is not available in this build`);
    throw err;
  }
}

/** Password file and ACL (loaded lazily: a broker without them never loads that code). */
export async function createAccessControl(options: AccessControlOptions): Promise<AccessControl> {
  const security = await import('../security/access-control.js');
  return security.createAccessControl(options);
}

export async function loadObservability(): Promise<ObservabilityModule> {
  return load<ObservabilityModule>(OBSERVABILITY, '$SYS and the admin listener');
}

/**
 * A client whose user name comes from its TLS certificate (useCommonNameAsUsername) was
 * authenticated by the TLS handshake: the password check is skipped for it, as Mosquitto's
 * use_identity_as_username does; the ACL still applies to that user name.
 */
export function trustCertificateUsers(hooks: BrokerHooks): BrokerHooks {
  const authenticate = hooks.authenticate;
  if (authenticate === undefined) return hooks;
  return {
    ...hooks,
    authenticate: (client: Client, username, password) => (client.transport?.username !== undefined ? true : authenticate.call(hooks, client, username, password)),
  };
}
