import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import type { Broker } from '../broker.js';
import { ListenerGate, type ListenerRules } from './gate.js';
import { type Listener, listenOn } from './tcp.js';

export interface WebSocketAttachOptions extends ListenerRules {
  /** URL path MQTT is served on. Default '/mqtt'. */
  path?: string;
  /**
   * Origins (`https://app.example.com`) whose pages may open MQTT WebSockets here. An upgrade
   * with an Origin header not listed is refused with 403 (cross-site WebSocket hijacking);
   * one without an Origin header (not a browser) is accepted. Default: any origin.
   */
  allowedOrigins?: readonly string[];
}

export interface WebSocketListenOptions extends WebSocketAttachOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Serve WebSocket over TLS (WSS): node:tls server options (key, cert, ca, requestCert, ...). */
  tls?: TlsOptions;
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

const STATUS_TEXT: Record<number, string> = { 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

function refuse(socket: Duplex, status: number): void {
  // After 'upgrade' the HTTP server no longer listens for this socket's errors: a peer that
  // resets the connection before the response is written would crash the process.
  socket.on('error', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.once('finish', () => socket.destroy());
}

/**
 * Room for more than one MQTT packet in a WebSocket message (a frame may carry several, or
 * part of one [MQTT-6.0.0-2]) on top of the largest packet accepted.
 */
export const WEBSOCKET_FRAME_SLACK = 64 * 1024;

/**
 * MQTT over WebSocket on `path` of an HTTP server: upgrade → a byte stream → broker.handle.
 * A WebSocket message larger than the broker's maximumPacketSize (plus WEBSOCKET_FRAME_SLACK)
 * closes that connection (WebSocket close 1009) before it is buffered: `ws` would otherwise
 * buffer up to its default of 100 MiB per connection before the MQTT size check runs.
 */
export function attachWebSocket(broker: Broker, server: HttpServer, options: WebSocketAttachOptions): Listener {
  const path = options.path ?? '/mqtt';
  const maxPayload = broker.options.maximumPacketSize + WEBSOCKET_FRAME_SLACK;
  const wss = new WebSocketServer({ noServer: true, handleProtocols: selectProtocol, perMessageDeflate: false, maxPayload });
  const sockets = new Set<WebSocket>();
  const gate = new ListenerGate(options);
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (pathOf(request) !== path) {
      // Another upgrade handler of the user's server may want it; if there is none, refuse
      // rather than leave the socket hanging (and server.close() waiting for it).
      if (server.listenerCount('upgrade') === 1) refuse(socket, 404);
      return;
    }
    const origin = request.headers.origin;
    if (origin !== undefined && options.allowedOrigins !== undefined && !originAllowed(origin, options.allowedOrigins)) {
      broker.options.logger.debug({ origin, listener: options.name }, 'websocket upgrade refused: origin not allowed');
      refuse(socket, 403);
      return;
    }
    if (!gate.hasRoom()) {
      refuse(socket, 503);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const tlsSocket = 'encrypted' in request.socket ? (request.socket as Socket) : undefined;
      const transport = gate.admit(ws, tlsSocket);
      if (transport === undefined) {
        ws.terminate();
        return;
      }
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
      broker.handle(stream, transport);
    });
  };
  server.on('upgrade', onUpgrade);
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    get connections() {
      return gate.connections;
    },
    close: () =>
      new Promise<void>((done) => {
        server.off('upgrade', onUpgrade);
        for (const ws of sockets) ws.terminate();
        wss.close(() => done());
      }),
  };
}

/** An Origin matches a listed one exactly (scheme, host and port), case aside; `*` allows any. */
function originAllowed(origin: string, allowed: readonly string[]): boolean {
  const normal = origin.toLowerCase().replace(/\/$/, '');
  return allowed.some((entry) => entry === '*' || entry.toLowerCase().replace(/\/$/, '') === normal);
}

function onPlainRequest(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
}

/** A dedicated HTTP (or, with `tls`, HTTPS) server that only serves MQTT over WebSocket. */
export async function listenWebSocket(broker: Broker, options: WebSocketListenOptions): Promise<Listener> {
  const tls = options.tls;
  const server = tls === undefined ? createServer(onPlainRequest) : createHttpsServer(tls, onPlainRequest);
  if (tls !== undefined) server.on('tlsClientError', (err) => broker.options.logger.debug({ err }, 'wss handshake failed'));
  const attached = attachWebSocket(broker, server, options);
  const port = await listenOn(broker, server, options.port ?? 0, options.host, tls === undefined ? 'ws' : 'wss');
  const listener: Listener = {
    port,
    get connections() {
      return attached.connections;
    },
    close: async () => {
      await attached.close();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
  if (tls !== undefined) listener.setSecureContext = (context: SecureContextOptions) => (server as ReturnType<typeof createHttpsServer>).setSecureContext(context);
  return listener;
}
