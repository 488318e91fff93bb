import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ProtocolVersion } from '@hato/protocol';

/** Rules a listener applies to the connections it accepts (TCP, TLS, WebSocket alike). */
export interface ListenerRules {
  /** A label for the listener, seen by hooks as `client.transport.listener`. */
  name?: string;
  /**
   * Protocol versions accepted here (3 = 3.1, 4 = 3.1.1, 5 = 5.0). A CONNECT of another is
   * refused: 3.x with return code 1, 5.0 with CONNACK 0x84. Default: all three.
   */
  protocolVersions?: readonly ProtocolVersion[];
  /** Open connections on this listener; one more is closed as it is accepted. Default unlimited. */
  maxConnections?: number;
  /**
   * TLS only: the subject CN of the client's verified certificate replaces the CONNECT's user
   * name (Mosquitto's use_identity_as_username). Needs `requestCert` and `rejectUnauthorized`;
   * a client without a CN is closed as it is accepted.
   */
  useCommonNameAsUsername?: boolean;
}

/** What the listener established about a connection, before any MQTT packet. */
export interface TransportInfo {
  /** The listener's `name`. */
  readonly listener?: string;
  /** Protocol versions the listener accepts (undefined: all). */
  readonly protocolVersions?: readonly ProtocolVersion[];
  /** A user name the transport authenticated (a TLS client certificate's CN): it replaces the CONNECT's. */
  readonly username?: string;
}

/**
 * A listener's admission: counts its open connections against `maxConnections` and builds
 * the TransportInfo its connections carry.
 */
export class ListenerGate {
  private open = 0;
  /** The TransportInfo of connections without a transport user name (shared, read-only). */
  private shared: TransportInfo | undefined;

  /** The one 'close' listener it puts on each admitted stream (a function for all of them). */
  private readonly onClose: () => void;

  /** `onClosed`: called with each admitted stream once it closes (the listener's own bookkeeping). */
  constructor(
    private readonly rules: ListenerRules,
    onClosed?: (stream: unknown) => void,
  ) {
    const gate = this;
    this.onClose = function (this: unknown): void {
      gate.open--;
      onClosed?.(this);
    };
  }

  get connections(): number {
    return this.open;
  }

  /** False when the listener is full (the caller refuses the connection). */
  hasRoom(): boolean {
    return this.open < (this.rules.maxConnections ?? Number.POSITIVE_INFINITY);
  }

  /**
   * Admits `stream` (counted until it closes) and returns its TransportInfo, or undefined
   * when it must be refused: the listener is full, or the certificate CN it needs is missing.
   * `tlsSocket` is the TLS socket under the stream, when there is one.
   */
  admit(stream: { on(event: 'close', listener: () => void): unknown }, tlsSocket: Socket | undefined): TransportInfo | undefined {
    if (!this.hasRoom()) return undefined;
    let username: string | undefined;
    if (this.rules.useCommonNameAsUsername === true) {
      username = commonNameOf(tlsSocket);
      if (username === undefined) return undefined;
    }
    this.open++;
    // One listener function and, without a user name, one TransportInfo for all connections.
    (stream as { on(event: 'close', listener: () => void): unknown }).on('close', this.onClose);
    if (username === undefined) return (this.shared ??= this.info(undefined));
    return this.info(username);
  }

  private info(username: string | undefined): TransportInfo {
    const info: { listener?: string; protocolVersions?: readonly ProtocolVersion[]; username?: string } = {};
    if (this.rules.name !== undefined) info.listener = this.rules.name;
    if (this.rules.protocolVersions !== undefined) info.protocolVersions = this.rules.protocolVersions;
    if (username !== undefined) info.username = username;
    return info;
  }
}

/** The subject CN of a verified client certificate, if any. */
function commonNameOf(socket: Socket | undefined): string | undefined {
  const tls = socket as TLSSocket | undefined;
  if (tls === undefined || typeof tls.getPeerCertificate !== 'function' || !tls.authorized) return undefined;
  const cn = tls.getPeerCertificate().subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return typeof name === 'string' && name.length > 0 ? name : undefined;
}
