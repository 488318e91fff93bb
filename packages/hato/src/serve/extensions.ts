import type { BrokerHooks, Client } from '@hato/broker';
import type { AccessControl, AccessControlOptions } from '../security/access-control.js';

export type { AccessControl };

/**
 * The password file / ACL and $SYS / admin modules (security/, observability/), loaded only
 * when the config asks for them.
 */

/** Password file and ACL (loaded lazily: a broker without them never loads that code). */
export async function createAccessControl(options: AccessControlOptions): Promise<AccessControl> {
  const security = await import('../security/access-control.js');
  return security.createAccessControl(options);
}

/** $SYS and the admin listener (prom-client), loaded only when the config asks for them. */
export function loadObservability(): Promise<typeof import('../observability/index.js')> {
  return import('../observability/index.js');
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
