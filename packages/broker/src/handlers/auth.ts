import { type AuthPacket, ProtocolError, ReasonCode } from '@hato/protocol';
import type { AuthStep } from '../auth/auth-method.js';
import { sendAuth } from '../auth/auth-state.js';
import type { Connection } from '../connection.js';
import { DisconnectError } from '../errors.js';
import { continueEnhancedAuth } from './connect.js';

/**
 * AUTH from the client (5.0 §3.15, §4.12):
 * - while the CONNECT is authenticating: 0x18 Continue authentication with the same method
 *   runs the next step [MQTT-4.12.0-3] [MQTT-4.12.0-5];
 * - once connected: 0x19 Re-authenticate with the method used at CONNECT starts a new
 *   exchange [MQTT-4.12.1-1], 0x18 continues it; success is AUTH 0x00, failure DISCONNECT
 *   [MQTT-4.12.1-2]. Other packets keep flowing meanwhile.
 * Anything else, or AUTH from a client that did not use enhanced authentication, is a
 * protocol error [MQTT-4.12.0-7].
 */
export function handleAuth(connection: Connection, packet: AuthPacket): void | Promise<void> {
  const auth = connection.auth;
  if (auth === undefined) throw new ProtocolError('AUTH without enhanced authentication in CONNECT [MQTT-4.12.0-7]');
  const method = packet.properties?.authenticationMethod;
  if (method !== auth.method.name) throw new ProtocolError('AUTH with another Authentication Method [MQTT-4.12.0-5]');
  const code = packet.reasonCode ?? ReasonCode.Success;
  const data = packet.properties?.authenticationData;
  if (connection.state === 'authenticating') {
    if (code !== ReasonCode.ContinueAuthentication) throw new ProtocolError('only AUTH 0x18 continues an authentication [MQTT-4.12.0-3]');
    return continueEnhancedAuth(connection, data);
  }
  if (code === ReasonCode.ReAuthenticate) {
    if (auth.exchange !== undefined) throw new ProtocolError('re-authentication already in progress');
    auth.exchange = auth.method.begin(connection, true);
  } else if (code !== ReasonCode.ContinueAuthentication || auth.exchange === undefined) {
    throw new ProtocolError(`unexpected AUTH 0x${code.toString(16)}`);
  }
  const step = auth.exchange.step(data);
  if (step instanceof Promise) return step.then((result) => applyReauthStep(connection, result));
  applyReauthStep(connection, step);
  return undefined;
}

function applyReauthStep(connection: Connection, step: AuthStep): void {
  const auth = connection.auth!;
  if (connection.state !== 'connected') return;
  if (step.outcome === 'continue') {
    sendAuth(connection, ReasonCode.ContinueAuthentication, auth.method.name, step.data);
    return;
  }
  auth.exchange = undefined;
  if (step.outcome === 'failure') throw new DisconnectError(ReasonCode.NotAuthorized, step.reason ?? 're-authentication failed [MQTT-4.12.1-2]');
  if (step.username !== undefined && connection.username !== undefined && step.username !== connection.username) {
    throw new DisconnectError(ReasonCode.NotAuthorized, 're-authentication as another user');
  }
  if (step.username !== undefined) connection.username = step.username;
  sendAuth(connection, ReasonCode.Success, auth.method.name, step.data);
}
