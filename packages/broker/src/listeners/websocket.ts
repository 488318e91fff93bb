import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import type { Broker } from '../broker.js';
import type { Listener } from './tcp.js';

export interface WebSocketAttachOptions {
  /** URL path MQTT is served on. Default '/mqtt'. */
  path?: string;
}

export interface WebSocketListenOptions extends WebSocketAttachOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
}

/** Picks the `mqtt` subprotocol when offered (also the legacy `mqttv3.1`). */
function selectProtocol(protocols: Set<string>): string | false {
  if (protocols.has('mqtt')) return 'mqtt';
  if (protocols.has('mqttv3.1')) return 'mqttv3.1';
  return false;
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function refuse(socket: Duplex, status: number): void {
  // After 'upgrade' the HTTP server no longer listens for this socket's errors: a peer that
  // resets the connection before the response is written would crash the process.
  socket.on('error', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.once('finish', () => socket.destroy());
}

/** MQTT over WebSocket on `path` of an HTTP server: upgrade → a byte stream → broker.handle. */
export function attachWebSocket(broker: Broker, server: HttpServer, options: WebSocketAttachOptions): Listener {
  const path = options.path ?? '/mqtt';
  const wss = new WebSocketServer({ noServer: true, handleProtocols: selectProtocol, perMessageDeflate: false });
  const sockets = new Set<WebSocket>();
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (pathOf(request) !== path) {
      // Another upgrade handler of the user's server may want it; if there is none, refuse
      // rather than leave the socket hanging (and server.close() waiting for it).
      if (server.listenerCount('upgrade') === 1) refuse(socket, 404);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      sockets.add(ws);
      ws.once('close', () => sockets.delete(ws));
      // MQTT travels in binary frames only; any other data frame closes the connection
      // [MQTT-6.0.0-1]. Registered before the stream's own listener, so the text frame's
      // bytes are pushed into an already destroyed stream and never reach the decoder.
      let stream: Duplex | undefined;
      ws.on('message', (_data, isBinary) => {
        if (!isBinary) {
          stream?.destroy();
          ws.terminate();
        }
      });
      stream = createWebSocketStream(ws);
      const remote = request.socket.remoteAddress;
      Object.defineProperty(stream, 'remoteAddress', { value: remote });
      broker.handle(stream);
    });
  };
  server.on('upgrade', onUpgrade);
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    close: () =>
      new Promise<void>((done) => {
        server.off('upgrade', onUpgrade);
        for (const ws of sockets) ws.terminate();
        wss.close(() => done());
      }),
  };
}

/** A dedicated HTTP server that only serves MQTT over WebSocket. */
export function listenWebSocket(broker: Broker, options: WebSocketListenOptions): Promise<Listener> {
  const server = createServer((_request, response) => {
    response.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
  });
  const attached = attachWebSocket(broker, server, options);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : 0,
        close: async () => {
          await attached.close();
          await new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}
