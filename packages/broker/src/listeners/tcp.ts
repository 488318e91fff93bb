import { createServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { Broker } from '../broker.js';

/** A running listener: the port it got, and how to stop it. */
export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * MQTT over TCP, or over TLS when `tls` is given (key, cert, ca, requestCert, ...):
 * accept → broker.handle. Closing stops accepting and closes its sockets.
 */
export function listenTcp(broker: Broker, port: number, host: string | undefined, tls?: TlsOptions): Promise<Listener> {
  const sockets = new Set<Socket>();
  const accept = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  };
  const server = tls === undefined ? createServer(accept) : createTlsServer(tls, accept);
  if (tls !== undefined) {
    // A failed handshake is that client's problem, never the listener's.
    server.on('tlsClientError', (err) => broker.options.logger.debug({ err }, 'tls handshake failed'));
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', (err) => broker.options.logger.error({ err }, tls === undefined ? 'tcp listener error' : 'tls listener error'));
      const address = server.address();
      const actual = typeof address === 'object' && address !== null ? address.port : port;
      resolve({
        port: actual,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}
