import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type TlsOptions } from 'node:tls';
import type { Broker } from '../broker.js';
import { ListenerGate, type ListenerRules } from './gate.js';

/** A running listener: the port it got, its open connections, and how to stop it. */
export interface Listener {
  readonly port: number;
  /** Connections open on this listener now. */
  readonly connections: number;
  close(): Promise<void>;
  /**
   * TLS listeners (TLS, WSS): replaces the certificate, key and CA for new connections;
   * open ones keep theirs (node's `server.setSecureContext`).
   */
  setSecureContext?(options: SecureContextOptions): void;
}

/**
 * MQTT over TCP, or over TLS when `tls` is given (key, cert, ca, requestCert, ...):
 * accept → broker.handle. A connection beyond `rules.maxConnections` is closed at accept.
 * Closing stops accepting and closes its sockets.
 */
export function listenTcp(broker: Broker, port: number, host: string | undefined, rules: ListenerRules, tls?: TlsOptions): Promise<Listener> {
  const sockets = new Set<Socket>();
  // The gate's close listener forgets the socket too: no listener or closure per connection.
  const gate = new ListenerGate(rules, (socket) => sockets.delete(socket as Socket));
  const accept = (socket: Socket): void => {
    const transport = gate.admit(socket, tls === undefined ? undefined : socket);
    if (transport === undefined) {
      broker.options.logger.debug({ listener: rules.name, address: socket.remoteAddress }, 'connection refused by the listener');
      socket.destroy();
      return;
    }
    sockets.add(socket);
    broker.handle(socket, transport);
  };
  const server = tls === undefined ? createServer(accept) : createTlsServer(tls, accept);
  if (tls !== undefined) {
    // A failed handshake is that client's problem, never the listener's.
    server.on('tlsClientError', (err) => broker.options.logger.debug({ err }, 'tls handshake failed'));
  }
  return listenOn(broker, server, port, host, tls === undefined ? 'tcp' : 'tls').then((actual) => ({
    port: actual,
    get connections() {
      return gate.connections;
    },
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        for (const socket of sockets) socket.destroy();
      }),
    ...(tls === undefined ? {} : { setSecureContext: (options: SecureContextOptions) => (server as ReturnType<typeof createTlsServer>).setSecureContext(options) }),
  }));
}

/** Listens on port/host; resolves the port actually bound. Later server errors are logged. */
export function listenOn(broker: Broker, server: Server, port: number, host: string | undefined, kind: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', (err) => broker.options.logger.error({ err }, `${kind} listener error`));
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}
