import { createServer, type Socket } from 'node:net';
import type { Broker } from '../broker.js';

/** A running listener: the port it got, and how to stop it. */
export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

/** MQTT over TCP: accept → broker.handle. Closing stops accepting and closes its sockets. */
export function listenTcp(broker: Broker, port: number, host: string | undefined): Promise<Listener> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', (err) => broker.options.logger.error({ err }, 'tcp listener error'));
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
